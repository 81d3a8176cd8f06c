import { describe, expect, it } from 'vitest';
import { VIEWER_TOKEN } from '../test/helpers/gateway.js';
import { useBrowser } from './helpers/browser.js';
import { heading, signIn, textOf } from './helpers/dashboard.js';
import { postTicketWebhook, seedTicket, useGateway } from './helpers/gateway.js';

describe('dashboard events', () => {
  const page = useBrowser();
  const start = useGateway();

  it('lists a signed webhook the gateway received, with a link to its trace', async () => {
    const gateway = await start();
    const ticket = seedTicket(gateway.sandbox);
    const event = await postTicketWebhook(gateway, 'msg_e2e_events_1', ticket.id);
    expect(event).toMatch(/^evt_/);

    await signIn(page(), gateway.url, VIEWER_TOKEN);
    await page().goto(`${gateway.url}/ui/events`);
    expect(await heading(page())).toBe('Events');
    const row = page().locator(`tr[data-event-id="${event}"]`);
    expect(await textOf(row)).toContain('msg_e2e_events_1');
    expect(await textOf(row)).toContain('demo');
    const trace = row.getByRole('link', { name: 'Trace', exact: true });
    const target = new URL((await trace.getAttribute('href')) ?? '', page().url());
    expect(`${target.pathname}${target.search}`).toBe(`/ui/trace?id=${event}`);
  });
});
