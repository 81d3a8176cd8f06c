import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../src/sandbox/index.js';
import type { Store } from '../src/store/index.js';
import { sha256, useTestGateways } from './helpers/gateway.js';
import { postAction, setStatusProposal } from './helpers/propose.js';
import { startSandbox } from './helpers/sandbox.js';
import { BACKENDS } from './helpers/stores.js';

const AGENT_KEY = 'ak_metrics_route_agent';

/** An action row in the given state, due far in the future so the worker leaves it be. */
async function insertAction(store: Store, id: string, status: 'queued' | 'pending_approval') {
  const now = Date.now();
  await store.db
    .insertInto('actions')
    .values({
      id,
      agent: 'support-bot',
      idempotency_key: `key-${id}`,
      operation: 'ticket.add_note',
      record_key: 'helpdesk:ticket:T-1',
      target: JSON.stringify({ system: 'helpdesk', type: 'ticket', id: 'T-1' }),
      params: JSON.stringify({ body: 'noted' }),
      basis: null,
      decision: null,
      status,
      verdict: null,
      expected_revision: null,
      effect: null,
      error: null,
      next_attempt_at: now + 3_600_000,
      lease_owner: null,
      lease_until: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
}

describe.each(BACKENDS)('GET /metrics on %s', (backend) => {
  const start = useTestGateways(backend);
  let sandbox: (Sandbox & { url: string }) | undefined;
  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
  });

  it('answers the Prometheus text format with the queue depth read from the store', async () => {
    const gateway = await start();
    await insertAction(gateway.store, 'act_metrics_1', 'queued');
    await insertAction(gateway.store, 'act_metrics_2', 'queued');
    await insertAction(gateway.store, 'act_metrics_3', 'pending_approval');

    const response = await gateway.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = response.body.split('\n');
    expect(lines).toContain('# TYPE airlock_actions_queue_depth gauge');
    expect(lines).toContain('airlock_actions_queue_depth{status="queued"} 2');
    expect(lines).toContain('airlock_actions_queue_depth{status="executing"} 0');
    expect(lines).toContain('airlock_actions_queue_depth{status="pending_approval"} 1');
    expect(lines).toContain('# TYPE airlock_events_received_total counter');
  });

  it('serves what the gateway counted', async () => {
    const gateway = await start();
    gateway.metrics.writePrevented('duplicate');

    const response = await gateway.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.body.split('\n')).toContain(
      'airlock_writes_prevented_total{kind="duplicate"} 1',
    );
  });

  /** A gateway whose agent may set a ticket's status, a sandbox behind it, and one ticket. */
  async function withTicket() {
    sandbox = await startSandbox();
    const ticket = sandbox.seed({ tickets: [{ subject: 'Where is my order?' }] }).tickets[0] as {
      id: string;
      revision: number;
    };
    const gateway = await start({
      agents: { bot: { keySha256: sha256(AGENT_KEY), operations: ['ticket.set_status'] } },
      connectors: { helpdesk: { kind: 'sandbox', url: sandbox.url } },
    });
    const propose = (key: string) =>
      postAction(
        gateway.app,
        AGENT_KEY,
        key,
        setStatusProposal(ticket, 'pending', ticket.revision),
      );
    const metricLines = async () =>
      (await gateway.app.inject({ method: 'GET', url: '/metrics' })).body.split('\n');
    return { sandbox, propose, metricLines };
  }

  it('times a proposal from request to answer, its calls to the system and its store writes', async () => {
    const { propose, metricLines } = await withTicket();

    expect((await propose('metrics-route-1')).json()).toMatchObject({ status: 'executed' });

    const lines = await metricLines();
    expect(lines).toContain(
      'airlock_pipeline_duration_seconds_count{operation="ticket.set_status"} 1',
    );
    // The proposal's read of the ticket, then the write.
    expect(lines).toContain(
      'airlock_connector_call_duration_seconds_count{system="helpdesk",operation="read"} 1',
    );
    expect(lines).toContain(
      'airlock_connector_call_duration_seconds_count{system="helpdesk",operation="ticket.set_status"} 1',
    );
    // The accepted action and its outbox row, then its outcome: two durable writes.
    expect(lines).toContain('airlock_store_op_duration_seconds_count{op="acceptAction"} 1');
    expect(lines).toContain('airlock_store_op_duration_seconds_count{op="updateLeasedAction"} 1');
  });

  it('counts a read and a write the system refused as connector errors', async () => {
    const { sandbox, propose, metricLines } = await withTicket();

    sandbox.faults.add({ operation: 'ticket.read', status: 503 });
    const refused = await propose('metrics-route-2');
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toMatchObject({ type: expect.stringMatching(/connector-unavailable$/) });
    // Then a write the system fails once: retried, executed, and counted.
    sandbox.faults.add({ operation: 'ticket.update', status: 500 });
    expect((await propose('metrics-route-3')).json()).toMatchObject({ status: 'executed' });

    const lines = await metricLines();
    expect(lines).toContain('airlock_connector_errors_total{system="helpdesk",status="503"} 1');
    expect(lines).toContain('airlock_connector_errors_total{system="helpdesk",status="500"} 1');
  });

  it('has no route when metrics are disabled', async () => {
    const gateway = await start({ metrics: { enabled: false } });

    const response = await gateway.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });
});
