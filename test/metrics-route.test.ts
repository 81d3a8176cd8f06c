import { describe, expect, it } from 'vitest';
import type { Store } from '../src/store/index.js';
import { useTestGateways } from './helpers/gateway.js';
import { BACKENDS } from './helpers/stores.js';

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

  it('has no route when metrics are disabled', async () => {
    const gateway = await start({ metrics: { enabled: false } });

    const response = await gateway.app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });
});
