import { describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import { verifyAudit } from '../src/audit/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import { CRM_TYPES, SANDBOX_TYPES } from '../src/sandbox/index.js';
import type { Store } from '../src/store/index.js';
import {
  APPROVER_TOKEN,
  createTestApp,
  sha256,
  type TestApp,
  testConfig,
} from './helpers/gateway.js';
import { postAction } from './helpers/propose.js';
import { call, startSandbox } from './helpers/sandbox.js';
import { BACKENDS, useTestStores } from './helpers/stores.js';
import { signStandardWebhook, ticketEventBody } from './helpers/webhooks.js';

const AGENT_KEY = 'ak_audit_trail_agent';

/** Every state change of an event, action, approval and execution leaves a chained entry. */
describe.each(BACKENDS)('the audit trail on %s', (backend) => {
  const stores = useTestStores(backend);
  let store: Store;
  let gateway: TestApp;
  let sandbox: Sandbox & { url: string };

  async function start() {
    sandbox = stores.closedAfter(await startSandbox());
    store = await stores.open();
    const connector = { kind: 'sandbox', url: sandbox.url, timeout: '2s' };
    gateway = stores.closedAfter(
      await createTestApp(
        store,
        testConfig(stores.database.url, {
          agents: { bot: { keySha256: sha256(AGENT_KEY), operations: [...OPERATION_NAMES] } },
          connectors: {
            helpdesk: { ...connector, types: [...SANDBOX_TYPES.helpdesk, ...CRM_TYPES] },
            orders: { ...connector, types: ['order'] },
          },
          sources: {
            demo: {
              scheme: 'standard-webhooks',
              secrets: ['whsec_dGVzdC1zZWNyZXQtZm9yLWFpcmxvY2stdGVzdHM='],
              system: 'helpdesk',
            },
          },
          rateLimits: [
            {
              name: 'one-cancel',
              operations: ['order.cancel'],
              per: 'agent',
              max: 1,
              window: '1h',
            },
          ],
          actions: { wait: '2s' },
        }),
      ),
    );
    const seeded = sandbox.seed({
      tickets: [{ subject: 'Where is my order?' }],
      orders: [
        { currency: 'EUR', subtotal: 80 },
        { currency: 'EUR', subtotal: 90 },
      ],
    });
    return {
      ticket: seeded.tickets[0] as { id: string; revision: number },
      orders: seeded.orders as Array<{ id: string; revision: number }>,
    };
  }

  const propose = (key: string, body: Record<string, unknown>) =>
    postAction(gateway.app, AGENT_KEY, key, body);

  const entries = async () =>
    (
      await store.db
        .selectFrom('audit_log')
        .select(['seq', 'kind', 'subject', 'change'])
        .orderBy('seq')
        .execute()
    ).map((entry) => `${entry.kind} ${entry.change} ${entry.subject.slice(0, 4)}`);

  it('chains an entry for each step from webhook to write, approval included', async () => {
    const { ticket, orders } = await start();
    const body = ticketEventBody(ticket.id);
    const deliver = () =>
      gateway.app.inject({
        method: 'POST',
        url: '/hooks/demo',
        headers: signStandardWebhook(body, 'msg_1'),
        payload: body,
      });
    const received = await deliver();
    expect(received.statusCode).toBe(202);
    expect((await deliver()).statusCode).toBe(200);
    const eventId = received.json().event as string;

    const replyBody = {
      operation: 'ticket.reply',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { body: 'It ships today.' },
      basis: { revision: String(ticket.revision), events: [eventId] },
    };
    const reply = await propose('k-reply', replyBody);
    expect(reply.json().status).toBe('executed');

    const [first, second] = orders as [
      { id: string; revision: number },
      { id: string; revision: number },
    ];
    const cancel = (order: { id: string; revision: number }, key: string) =>
      propose(key, {
        operation: 'order.cancel',
        target: { system: 'orders', type: 'order', id: order.id },
        params: { reason: 'customer asked' },
        basis: { revision: String(order.revision) },
      });
    const pending = await cancel(first, 'k-cancel');
    expect(pending.statusCode).toBe(202);
    // The rate limit refuses a second cancel inside the accept: nothing of it may be recorded.
    expect((await cancel(second, 'k-cancel-2')).statusCode).toBe(403);
    const approved = await gateway.app.inject({
      method: 'POST',
      url: `/v1/approvals/${pending.json().approval}/approve`,
      headers: { authorization: `Bearer ${APPROVER_TOKEN}` },
    });
    expect(approved.statusCode).toBe(200);
    await waitFor(async () => (await entries()).includes('action executed act_'), 10_000);
    // Wait for the cancel's own settle: it is the last entry.
    await waitFor(async () => (await entries()).at(-1) === 'action executed act_');

    expect(await entries()).toEqual([
      'event received evt_',
      'event duplicate evt_',
      'action accepted act_',
      'execution started act_',
      'action executed act_',
      'action pending_approval act_',
      'approval requested apr_',
      'approval approved apr_',
      'action queued act_',
      'execution started act_',
      'action executed act_',
    ]);
    expect(await verifyAudit(store.db)).toMatchObject({ ok: true, checked: 11 });
    expect((await call(sandbox.url, 'GET', '/_writes')).body.writes).toHaveLength(2);

    // Refusals before acceptance leave no entry: a replayed key and a stale basis.
    expect((await propose('k-reply', replyBody)).statusCode).toBe(200);
    const stale = await propose('k-stale', {
      operation: 'ticket.set_status',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { status: 'pending' },
      basis: { revision: String(ticket.revision) },
    });
    expect(stale.statusCode).toBe(409);
    expect(await entries()).toHaveLength(11);

    // The same steps, counted.
    const scraped = await gateway.app.inject({ method: 'GET', url: '/metrics' });
    expect(series(scraped.body)).toMatchObject({
      'airlock_events_received_total{source="demo"}': 2,
      'airlock_events_duplicate_total{source="demo"}': 1,
      'airlock_actions_total{operation="ticket.reply",outcome="executed"}': 1,
      'airlock_actions_total{operation="order.cancel",outcome="pending_approval"}': 1,
      'airlock_actions_total{operation="order.cancel",outcome="denied"}': 1,
      'airlock_actions_total{operation="order.cancel",outcome="executed"}': 1,
      'airlock_actions_total{operation="ticket.set_status",outcome="stale"}': 1,
      'airlock_approvals_total{outcome="approved"}': 1,
      'airlock_writes_prevented_total{kind="duplicate"}': 1,
      'airlock_writes_prevented_total{kind="stale"}': 1,
      'airlock_writes_prevented_total{kind="not_permitted"}': 1,
      'airlock_pipeline_duration_seconds_count{operation="ticket.reply"}': 2,
    });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Prometheus text as `name{labels sorted}` → value. */
function series(text: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = (match[2] ?? '').split(',').filter(Boolean).sort().join(',');
    found[`${match[1]}${labels ? `{${labels}}` : ''}`] = Number(match[3]);
  }
  return found;
}
