import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN } from '../test/helpers/gateway.js';
import { call } from '../test/helpers/sandbox.js';
import { signStandardWebhook, ticketEventBody } from '../test/helpers/webhooks.js';
import { useBrowser } from './helpers/browser.js';
import { heading, signIn, textOf } from './helpers/dashboard.js';
import {
  postTicketWebhook,
  propose,
  proposeCancel,
  seedOrder,
  seedTicket,
  useGateway,
} from './helpers/gateway.js';

describe('dashboard overview', () => {
  const page = useBrowser();
  const start = useGateway();

  // Also saves dashboard.png, which e2e/update-readme-screenshot.sh copies to docs/.
  it('overview: counts what happened in the window', async () => {
    const gateway = await start();
    const ticket = seedTicket(gateway.sandbox);
    for (const n of [1, 2, 3]) await postTicketWebhook(gateway, `msg_e2e_overview_${n}`, ticket.id);
    // One delivery with a signature the gateway must refuse.
    const forged = ticketEventBody(ticket.id);
    const refused = await call(gateway.url, 'POST', '/hooks/demo', forged, {
      ...signStandardWebhook(forged, 'msg_e2e_forged', {
        secret: `whsec_${Buffer.from('someone-else').toString('base64')}`,
      }),
    });
    expect(refused.status).toBe(401);
    const noted = await propose(gateway, 'e2e-overview-note', {
      operation: 'ticket.add_note',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { body: 'Customer called about the delay.' },
      basis: { revision: String(ticket.revision) },
    });
    expect(noted.body).toMatchObject({ status: 'executed' });
    await proposeCancel(gateway, seedOrder(gateway.sandbox), 'e2e-overview-cancel');

    await signIn(page(), gateway.url, ADMIN_TOKEN);
    await page().goto(`${gateway.url}/ui`);
    expect(await heading(page())).toBe('Overview');
    expect(await page().locator('select#window').inputValue()).toBe('24h');
    expect(await textOf(page().locator('[data-live="approvalsPending"]'))).toMatch(/\b1\b/);
    const nav = page().getByRole('navigation', { name: 'Dashboard' });
    const links = await nav
      .getByRole('link')
      .evaluateAll((found) => found.map((a) => [a.textContent, a.getAttribute('href')]));
    // A link's text may carry a live count after its name ("Approvals 1").
    expect(links.map(([text, href]) => [text?.trim().split(/\s+/)[0], href])).toEqual([
      ['Overview', '/ui'],
      ['Approvals', '/ui/approvals'],
      ['Events', '/ui/events'],
      ['Actions', '/ui/actions'],
      ['Errors', '/ui/errors'],
      ['Trace', '/ui/trace'],
    ]);
  });
});
