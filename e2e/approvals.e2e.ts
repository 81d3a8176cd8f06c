import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { APPROVER_TOKEN, VIEWER_TOKEN } from '../test/helpers/gateway.js';
import { call } from '../test/helpers/sandbox.js';
import { useBrowser } from './helpers/browser.js';
import { heading, reloadUntilText, signIn, submit, textOf } from './helpers/dashboard.js';
import {
  proposeCancel,
  readApproval,
  readOrder,
  seedOrder,
  useGateway,
} from './helpers/gateway.js';

const APPROVAL_STATUS = 'dd[data-field="approval-status"]';
const ACTION_STATUS = 'dd[data-field="action-status"]';

describe('dashboard approvals', () => {
  const page = useBrowser();
  const start = useGateway();

  /** Opens the approval's page as an approver, types a comment and presses `button`. */
  async function decide(url: string, approval: string, button: 'Approve' | 'Reject') {
    await signIn(page(), url, APPROVER_TOKEN);
    await page().goto(`${url}/ui/approvals/${approval}`);
    expect(await heading(page())).toBe(`Approval ${approval}`);
    expect(await textOf(page().locator(APPROVAL_STATUS))).toBe('pending');
    await page().getByLabel('Comment').fill(`${button.toLowerCase()}d in the e2e test`);
    await submit(page(), page().getByRole('button', { name: button, exact: true }));
  }

  it('approves a pending cancel with a comment; the action executes and the order is cancelled', async () => {
    const gateway = await start();
    const order = seedOrder(gateway.sandbox);
    const { approval } = await proposeCancel(gateway, order, 'e2e-approve');
    expect((await readOrder(gateway.sandbox, order.id)).status).not.toBe('cancelled');

    await decide(gateway.url, approval, 'Approve');
    expect(await textOf(page().getByRole('status'))).not.toBeNull();
    expect(await textOf(page().locator(APPROVAL_STATUS))).toBe('approved');
    // The worker executes an approved action shortly after; the page is read again until then.
    await reloadUntilText(
      page(),
      `${gateway.url}/ui/approvals/${approval}`,
      ACTION_STATUS,
      'executed',
    );
    expect((await readOrder(gateway.sandbox, order.id)).status).toBe('cancelled');
  });

  it('rejects a pending cancel; the order stays as it was', async () => {
    const gateway = await start();
    const order = seedOrder(gateway.sandbox);
    const before = await readOrder(gateway.sandbox, order.id);
    const { approval } = await proposeCancel(gateway, order, 'e2e-reject');

    await decide(gateway.url, approval, 'Reject');
    expect(await textOf(page().getByRole('status'))).not.toBeNull();
    expect(await textOf(page().locator(APPROVAL_STATUS))).toBe('rejected');
    expect(await textOf(page().locator(ACTION_STATUS))).toBe('rejected');
    expect(await readOrder(gateway.sandbox, order.id)).toEqual(before);
  });

  it('ends an approval as stale when the order changed after the proposal, naming what changed', async () => {
    const gateway = await start();
    const order = seedOrder(gateway.sandbox);
    const { approval } = await proposeCancel(gateway, order, 'e2e-stale');
    // Someone gives a discount in the order system meanwhile: the order's total changes.
    const changed = await call(gateway.sandbox.url, 'POST', `/orders/${order.id}/discounts`, {
      amount: 10,
      currency: 'EUR',
    });
    expect(changed.status).toBe(201);

    await decide(gateway.url, approval, 'Approve');
    expect(await textOf(page().locator(APPROVAL_STATUS))).toBe('stale');
    expect(await textOf(page().locator(ACTION_STATUS))).toBe('stale');
    const whatChanged = page().locator('section[aria-labelledby="what-changed"]');
    expect(await textOf(whatChanged.locator('h2#what-changed'))).toBe('What changed');
    // The total went from 120 to 110: the field, its value then and now.
    expect(await textOf(whatChanged)).toMatch(/total[\s\S]*120[\s\S]*110/);
    expect((await readOrder(gateway.sandbox, order.id)).status).not.toBe('cancelled');
  });

  it('shows a viewer the approval without a way to decide it', async () => {
    const gateway = await start();
    const { approval } = await proposeCancel(gateway, seedOrder(gateway.sandbox), 'e2e-viewer');

    await signIn(page(), gateway.url, VIEWER_TOKEN);
    await page().goto(`${gateway.url}/ui/approvals/${approval}`);
    expect(await heading(page())).toBe(`Approval ${approval}`);
    expect(await textOf(page().locator(APPROVAL_STATUS))).toBe('pending');
    expect(await page().getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await page().getByRole('button', { name: 'Reject' }).count()).toBe(0);
    expect(await page().locator('textarea#comment').count()).toBe(0);
    expect((await readApproval(gateway, approval, VIEWER_TOKEN)).status).toBe('pending');
  });

  it('opens an approval signed in from a link on another site, as from Slack or email', async () => {
    const gateway = await start();
    const { approval } = await proposeCancel(gateway, seedOrder(gateway.sandbox), 'e2e-link');
    await signIn(page(), gateway.url, APPROVER_TOKEN);
    // Another site: `localhost` is not the gateway's 127.0.0.1, so the click is cross-site.
    const link = `${gateway.url}/ui/approvals/${approval}`;
    const elsewhere = createServer((_request, response) =>
      response.end(`<!doctype html><a href="${link}">Review the approval</a>`),
    );
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = elsewhere.address() as AddressInfo;
      await page().goto(`http://localhost:${port}/`);
      await page().getByRole('link', { name: 'Review the approval' }).click();
      await page().waitForURL(link);
      expect(await heading(page())).toBe(`Approval ${approval}`);
      expect(await page().getByRole('button', { name: 'Approve', exact: true }).count()).toBe(1);
    } finally {
      await new Promise((resolve) => elsewhere.close(resolve));
    }
  });

  it('adds a new pending approval to the open Approvals page without a reload', async () => {
    const gateway = await start();
    await signIn(page(), gateway.url, APPROVER_TOKEN);
    // The list listens with server-sent events: propose only once the stream is open.
    const streaming = page().waitForResponse((response) =>
      (response.headers()['content-type'] ?? '').includes('text/event-stream'),
    );
    // Awaited below; a test failing before then must not leave a rejection unhandled.
    streaming.catch(() => {});
    await page().goto(`${gateway.url}/ui/approvals`);
    expect(await heading(page())).toBe('Approvals');
    await streaming;
    expect(await page().locator('tr[data-approval-id]').count()).toBe(0);
    // Gone if the page is loaded again.
    await page().evaluate(() => {
      (globalThis as unknown as { notReloaded: boolean }).notReloaded = true;
    });

    const { approval } = await proposeCancel(gateway, seedOrder(gateway.sandbox), 'e2e-live');
    const row = page().locator(`tr[data-approval-id="${approval}"]`);
    await row.waitFor({ timeout: 10_000 });
    expect(await textOf(row.getByRole('link', { name: 'order.cancel', exact: true }))).toBe(
      'order.cancel',
    );
    expect(
      await page().evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded),
    ).toBe(true);
  });
});
