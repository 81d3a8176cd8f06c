import { describe, expect, it } from 'vitest';
import { VIEWER_TOKEN } from '../test/helpers/gateway.js';
import { useBrowser } from './helpers/browser.js';
import { heading, signIn, submit, textOf } from './helpers/dashboard.js';
import { propose, seedTicket, useGateway } from './helpers/gateway.js';

describe('dashboard trace', () => {
  const page = useBrowser();
  const start = useGateway();

  it("finds an action's trace by its idempotency key", async () => {
    const gateway = await start();
    const ticket = seedTicket(gateway.sandbox);
    const proposed = await propose(gateway, 'e2e-trace-key-7', {
      operation: 'ticket.add_note',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { body: 'Customer called about the delay.' },
      basis: { revision: String(ticket.revision) },
    });
    expect(proposed.body).toMatchObject({ status: 'executed', action: expect.any(String) });
    const action: string = proposed.body.action;

    await signIn(page(), gateway.url, VIEWER_TOKEN);
    await page().goto(`${gateway.url}/ui/trace`);
    expect(await heading(page())).toBe('Trace');
    await page().getByLabel('Any id').fill('e2e-trace-key-7');
    await submit(page(), page().getByRole('button', { name: 'Find', exact: true }));
    expect(new URL(page().url()).searchParams.get('id')).toBe('e2e-trace-key-7');
    const timeline = page().locator('ol[aria-label="Timeline"]');
    const step = timeline.locator('li', { hasText: action });
    expect(await textOf(step)).toContain(action);
    expect(await textOf(timeline)).toContain('executed');
  });

  it('says so when an id names nothing', async () => {
    const gateway = await start();
    await signIn(page(), gateway.url, VIEWER_TOKEN);
    await page().goto(`${gateway.url}/ui/trace?id=${encodeURIComponent('no-such-key')}`);
    expect(await textOf(page().getByRole('alert'))).toContain('Nothing found');
    expect(await page().locator('ol[aria-label="Timeline"]').count()).toBe(0);
  });
});
