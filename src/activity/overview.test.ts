import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { acceptActionAt, useStoreOps } from '../../test/helpers/action-ops.js';
import { sha256, type TestApp, useTestGateways } from '../../test/helpers/gateway.js';
import { BACKENDS } from '../../test/helpers/stores.js';
import { signStandardWebhook, ticketEventBody } from '../../test/helpers/webhooks.js';
import { GATEWAY_OPS_MODULE, gatewayOps } from '../gateway-ops.js';
import { createMetrics } from '../metrics/index.js';
import { countingMetrics } from './counting-metrics.js';
import { readOverview } from './overview.js';
import { ActivityTally } from './tally.js';

/** A minute's start, long enough ago that no test writes near it by accident. */
const T0 = 1_700_000_040_000;
const MINUTE = 60_000;

const EMPTY_POINT = { received: 0, duplicates: 0, rejected: 0, executed: 0, refused: 0, failed: 0 };

describe.each(BACKENDS)('the overview on %s, from the store', (backend) => {
  const open = useStoreOps(backend, gatewayOps, GATEWAY_OPS_MODULE);

  it('counts the actions created in the window by where they stand, in the bucket of their creation', async () => {
    const { store, ops } = await open();
    await acceptActionAt(ops, store, T0 - 1, 'executed');
    await acceptActionAt(ops, store, T0, 'executed');
    await acceptActionAt(ops, store, T0 + 59_999, 'failed');
    await acceptActionAt(ops, store, T0 + 60_000, 'stale');
    await acceptActionAt(ops, store, T0 + 61_000, 'denied');
    await acceptActionAt(ops, store, T0 + 70_000, 'expired');
    await acceptActionAt(ops, store, T0 + 120_000, 'dead');
    await acceptActionAt(ops, store, T0 + 149_999, 'queued');
    await acceptActionAt(ops, store, T0 + 150_000, 'executed');

    const overview = await readOverview(store, {
      since: T0,
      until: T0 + 150_000,
      bucketMs: MINUTE,
    });
    expect(overview.actions.byOutcome).toEqual({
      queued: 1,
      executing: 0,
      executed: 1,
      pending_approval: 0,
      failed: 1,
      stale: 1,
      denied: 1,
      dead: 1,
      rejected: 0,
      expired: 1,
    });
    // Three buckets, the last one half as wide; the queued action counts in none of the columns.
    expect(overview.series).toEqual([
      { ...EMPTY_POINT, at: T0, executed: 1, failed: 1 },
      { ...EMPTY_POINT, at: T0 + MINUTE, refused: 3 },
      { ...EMPTY_POINT, at: T0 + 2 * MINUTE, failed: 1 },
    ]);
    expect(overview.webhooks).toEqual({ bySource: [], rejected: [] });
  });

  it('sums the counted activity of the window and lists every class of prevented write', async () => {
    const { store, ops } = await open();
    let now = T0;
    const tally = new ActivityTally(ops, {
      onError: (error) => expect.fail(String(error)),
      now: () => now,
    });
    const metrics = countingMetrics(createMetrics(), tally);
    const at = (ms: number, count: () => void) => {
      now = ms;
      count();
    };
    at(T0 - MINUTE - 1, () => metrics.eventRejected('demo', 'signature-invalid'));
    at(T0 + 10_000, () => metrics.writePrevented('stale'));
    at(T0 + 20_000, () => metrics.writePrevented('stale'));
    at(T0 + 70_000, () => metrics.writePrevented('duplicate'));
    for (const ms of [T0 + 1_000, T0 + 2_000, T0 + 65_000]) {
      at(ms, () => metrics.connectorError('helpdesk', 503));
    }
    at(T0 + 66_000, () => metrics.connectorError('helpdesk', 'timeout'));
    at(T0 + 30_000, () => metrics.eventRejected('demo', 'signature-invalid'));
    at(T0 + 130_000, () => metrics.eventRejected('demo', 'signature-invalid'));
    at(T0 + 131_000, () => metrics.eventRejected('nope', 'unknown-source'));
    at(T0 + 3 * MINUTE, () => metrics.eventRejected('demo', 'signature-invalid'));
    await tally.flush();

    const overview = await readOverview(store, {
      since: T0,
      until: T0 + 150_000,
      bucketMs: MINUTE,
    });
    expect(overview.webhooks.rejected).toEqual([
      { source: 'demo', reason: 'signature-invalid', count: 2 },
      { source: '(unknown)', reason: 'unknown-source', count: 1 },
    ]);
    expect(overview.connectorErrors).toEqual([
      { system: 'helpdesk', status: '503', count: 3 },
      { system: 'helpdesk', status: 'timeout', count: 1 },
    ]);
    expect(overview.prevented).toEqual([
      { kind: 'duplicate_webhook', count: 0 },
      { kind: 'duplicate', count: 1 },
      { kind: 'stale', count: 2 },
      { kind: 'wrong_record', count: 0 },
      { kind: 'not_permitted', count: 0 },
      { kind: 'loop', count: 0 },
    ]);
    expect(overview.series.map((point) => point.rejected)).toEqual([1, 0, 2]);

    // Activity is counted per minute: a window starting inside a minute takes all of it.
    const inside = await readOverview(store, {
      since: T0 + 45_000,
      until: T0 + 50_000,
      bucketMs: 1_000,
    });
    expect(inside.webhooks.rejected).toEqual([
      { source: 'demo', reason: 'signature-invalid', count: 1 },
    ]);
    expect(inside.series).toHaveLength(5);
    expect(inside.series.map((point) => point.rejected)).toEqual([1, 0, 0, 0, 0]);
  });

  it('shows the actions and approvals waiting now, whatever the window', async () => {
    const { store, ops } = await open();
    await acceptActionAt(ops, store, T0, 'queued');
    await acceptActionAt(ops, store, T0 + 5_000, 'queued');
    await acceptActionAt(ops, store, T0 + 1_000, 'executing');
    await acceptActionAt(ops, store, T0 + 2_000, 'pending_approval', { approval: true });
    await acceptActionAt(ops, store, T0 + 3_000, 'pending_approval', { approval: true });
    await acceptActionAt(ops, store, T0 - 1_000, 'executed');

    const overview = await readOverview(store, {
      since: T0 + 3_600_000,
      until: T0 + 7_200_000,
      bucketMs: 3_600_000,
    });
    expect(overview.queues).toEqual({
      actionsQueued: 2,
      actionsExecuting: 1,
      approvalsPending: 2,
      deliveriesPending: 0,
      deliveriesDead: 0,
      oldestQueuedAt: T0,
      oldestApprovalAt: T0 + 2_000,
      oldestDeliveryAt: null,
    });
    expect(Object.values(overview.actions.byOutcome).every((count) => count === 0)).toBe(true);
  });

  it.each([
    { case: 'an empty window', since: T0, until: T0, bucketMs: MINUTE },
    { case: 'no bucket width', since: T0, until: T0 + MINUTE, bucketMs: 0 },
    { case: 'over 1000 buckets', since: T0, until: T0 + 1_001 * MINUTE, bucketMs: MINUTE },
    { case: 'fractions', since: T0 + 0.5, until: T0 + MINUTE, bucketMs: MINUTE },
  ])('refuses $case', async (window) => {
    const { store } = await open();
    await expect(readOverview(store, window)).rejects.toMatchObject({
      code: 'invalid-query',
      status: 400,
    });
  });
});

const AGENT_KEY = 'ak_overview_test_agent';

describe.each(BACKENDS)('the overview on %s, of a running gateway', (backend) => {
  const start = useTestGateways(backend);

  function post(gateway: TestApp, body: string, headers: Record<string, string>) {
    return gateway.app.inject({ method: 'POST', url: '/hooks/demo', payload: body, headers });
  }

  it('counts a webhook sent twice as one event and one duplicate, and a forged one once flushed', async () => {
    const gateway = await start();
    const since = Date.now();
    const body = ticketEventBody('T-1');
    expect((await post(gateway, body, signStandardWebhook(body, 'msg_twice'))).statusCode).toBe(
      202,
    );
    expect((await post(gateway, body, signStandardWebhook(body, 'msg_twice'))).statusCode).toBe(
      200,
    );
    const other = ticketEventBody('T-2');
    expect((await post(gateway, other, signStandardWebhook(other, 'msg_once'))).statusCode).toBe(
      202,
    );
    const forged = signStandardWebhook(body, 'msg_forged', {
      secret: `whsec_${Buffer.from('someone else').toString('base64')}`,
    });
    expect((await post(gateway, body, forged)).statusCode).toBe(401);
    // Closing flushes the counts in memory.
    await gateway.close();
    const until = Date.now() + 1;

    const overview = await readOverview(gateway.store, { since, until, bucketMs: until - since });
    expect(overview.webhooks).toEqual({
      bySource: [{ source: 'demo', received: 2, duplicates: 1 }],
      rejected: [{ source: 'demo', reason: 'signature-invalid', count: 1 }],
    });
    expect(overview.prevented[0]).toEqual({ kind: 'duplicate_webhook', count: 1 });
    expect(overview.series).toEqual([
      { ...EMPTY_POINT, at: since, received: 2, duplicates: 1, rejected: 1 },
    ]);
    const before = await readOverview(gateway.store, {
      since: since - 10 * MINUTE,
      until: since,
      bucketMs: MINUTE,
    });
    expect(before.webhooks.bySource).toEqual([]);
    expect(before.series.map((point) => point.received)).toEqual(Array(10).fill(0));
  });

  it('counts deliveries waiting and dead-lettered, and the echoes not handed back as loops', async () => {
    const gateway = await start({
      agents: {
        bot: {
          keySha256: sha256(AGENT_KEY),
          operations: ['ticket.add_note'],
          deliver: { events: ['*'], maxAttempts: 1 },
        },
      },
      delivery: { poll: 20 },
    });
    const since = Date.now();
    const send = async (ticket: string, detail?: { action_id: string }) => {
      const body = JSON.stringify({
        type: 'ticket.updated',
        timestamp: new Date().toISOString(),
        data: { type: 'ticket', id: ticket },
        ...(detail ? { detail } : {}),
      });
      const answer = await post(gateway, body, signStandardWebhook(body, `msg_${randomUUID()}`));
      expect(answer.statusCode).toBe(202);
    };
    for (const ticket of ['T-1', 'T-2', 'T-3']) await send(ticket);
    // An event a write of Airlock's caused: the agent is not handed its own change.
    const action = await acceptActionAt(gateway.propose.ops, gateway.store, Date.now(), 'executed');
    await send('T-4', { action_id: action });
    await gateway.dispatcher.catchUp();

    const leased = await gateway.app.inject({
      method: 'POST',
      url: '/v1/events/lease',
      headers: { authorization: `Bearer ${AGENT_KEY}` },
      payload: {},
    });
    const deliveries = leased.json().deliveries as { id: string }[];
    expect(deliveries).toHaveLength(3);
    const nacked = await gateway.app.inject({
      method: 'POST',
      url: `/v1/events/${deliveries[0]?.id}/nack`,
      headers: { authorization: `Bearer ${AGENT_KEY}` },
      payload: { reason: 'cannot handle it' },
    });
    expect(nacked.json()).toMatchObject({ status: 'dead' });

    const until = Date.now() + 1;
    const overview = await readOverview(gateway.store, { since, until, bucketMs: until - since });
    expect(overview.queues).toMatchObject({ deliveriesPending: 2, deliveriesDead: 1 });
    expect(overview.queues.oldestDeliveryAt).toBeGreaterThanOrEqual(since);
    expect(overview.prevented.find((entry) => entry.kind === 'loop')).toEqual({
      kind: 'loop',
      count: 1,
    });
    const earlier = await readOverview(gateway.store, {
      since: since - MINUTE,
      until: since,
      bucketMs: MINUTE,
    });
    expect(earlier.prevented.find((entry) => entry.kind === 'loop')?.count).toBe(0);
  });
});
