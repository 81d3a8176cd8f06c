import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { ackDelivery } from '../src/dispatch/delivery-ops.js';
import type { Delivery } from '../src/dispatch/wire.js';
import { ADMIN_TOKEN, sha256, type TestApp, useTestGateways } from './helpers/gateway.js';
import { startReceiver, startSandbox } from './helpers/sandbox.js';
import { BACKENDS } from './helpers/stores.js';
import { DEMO_SECRET, signHubspot, signStandardWebhook } from './helpers/webhooks.js';

const KEY = 'ak_delivery_test_agent';
const HUBSPOT_SECRET = 'hubspot-client-secret';
const PUSH_SECRET = 'whsec_cHVzaC1zZWNyZXQtZm9yLWFpcmxvY2stdGVzdHM=';
/** The default retention.events. */
const WEEK = 7 * 86_400_000;

function agentConfig(deliver: Record<string, unknown>) {
  return {
    agents: {
      bot: { keySha256: sha256(KEY), operations: ['ticket.add_note'], deliver },
    },
    delivery: { poll: 20 },
  };
}

/** Posts one Standard Webhooks event about ticket `ticket` to the demo source; its event id. */
async function send(
  gateway: TestApp,
  ticket: string,
  options: { type?: string; at?: Date; recordType?: string } = {},
): Promise<string> {
  const body = JSON.stringify({
    type: options.type ?? 'ticket.updated',
    timestamp: (options.at ?? new Date()).toISOString(),
    data: { type: options.recordType ?? 'ticket', id: ticket },
  });
  const response = await gateway.app.inject({
    method: 'POST',
    url: '/hooks/demo',
    headers: signStandardWebhook(body, `msg_${randomUUID()}`),
    payload: body,
  });
  expect(response.statusCode).toBe(202);
  return response.json().event;
}

async function lease(gateway: TestApp, body: Record<string, unknown> = {}): Promise<Delivery[]> {
  await gateway.dispatcher.catchUp();
  const response = await gateway.app.inject({
    method: 'POST',
    url: '/v1/events/lease',
    headers: { authorization: `Bearer ${KEY}` },
    payload: body,
  });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().deliveries;
}

async function settle(gateway: TestApp, id: string, verb: 'ack' | 'nack', body = {}) {
  return gateway.app.inject({
    method: 'POST',
    url: `/v1/events/${id}/${verb}`,
    headers: { authorization: `Bearer ${KEY}` },
    payload: body,
  });
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 8_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`not reached in ${ms} ms: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.each(BACKENDS)('delivery to agents on %s', (backend) => {
  const start = useTestGateways(backend);

  it('hands a record its events one at a time, in order, each after the previous ack', async () => {
    const gateway = await start(agentConfig({ events: ['ticket.*'] }));
    const first = await send(gateway, 'T-1');
    const second = await send(gateway, 'T-1');
    const other = await send(gateway, 'T-2');

    const leased = await lease(gateway);
    expect(leased.map((d) => d.events.map((e) => e.id))).toEqual([[first], [other]]);
    const [one] = leased as [Delivery];
    expect(one).toMatchObject({
      type: 'airlock.delivery',
      agent: 'bot',
      record: { system: 'demo', type: 'ticket', id: 'T-1' },
      attempt: 1,
      basis: { events: [first] },
      context: { record: null, note: 'no connector is configured for system demo' },
    });
    expect(one.events[0]?.payload).toMatchObject({ data: { id: 'T-1' } });
    // T-1's next event waits for the ack.
    expect(await lease(gateway)).toEqual([]);

    const acked = await settle(gateway, one.id, 'ack');
    expect(acked.statusCode).toBe(200);
    expect(acked.json()).toEqual({ delivery: one.id, status: 'acked', events: [first] });
    // Twice is the same answer.
    expect((await settle(gateway, one.id, 'ack')).json()).toMatchObject({ status: 'acked' });
    const next = await lease(gateway);
    expect(next.map((d) => d.events.map((e) => e.id))).toEqual([[second]]);
  });

  it('keeps records apart whose type or id holds a colon, and names each as it is', async () => {
    const gateway = await start(agentConfig({ events: ['ticket.*'] }));
    // Keyed as text, both were demo:ticket:v2:1001: one queue, and both named the second.
    const typed = await send(gateway, '1001', { recordType: 'ticket:v2' });
    const plain = await send(gateway, 'v2:1001');
    const leased = await lease(gateway);
    expect(leased.map((d) => [d.events[0]?.id, d.record])).toEqual([
      [typed, { system: 'demo', type: 'ticket:v2', id: '1001' }],
      [plain, { system: 'demo', type: 'ticket', id: 'v2:1001' }],
    ]);
  });

  it('names the record of a system called event, whose key looked like a record-less one', async () => {
    const gateway = await start({
      ...agentConfig({ events: ['ticket.*'] }),
      sources: { demo: { scheme: 'standard-webhooks', secrets: [DEMO_SECRET], system: 'event' } },
    });
    const id = await send(gateway, 'T-9');
    const [delivery] = await lease(gateway);
    expect(delivery).toMatchObject({
      events: [{ id }],
      record: { system: 'event', type: 'ticket', id: 'T-9' },
      context: { note: 'no connector is configured for system event' },
    });
  });

  it('offers a delivery again when its lease runs out, with the same id and events', async () => {
    const gateway = await start(agentConfig({ events: ['*'] }));
    const event = await send(gateway, 'T-9');
    const [first] = await lease(gateway, { visibilityMs: 1_000 });
    expect(first?.leaseUntil).toBeTruthy();
    expect(await lease(gateway)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const [again] = await lease(gateway);
    expect(again).toMatchObject({ id: first?.id, attempt: 2, events: [{ id: event }] });
  });

  it('gives a nacked delivery back after its delay, then dead-letters it and moves on', async () => {
    const gateway = await start(agentConfig({ events: ['*'], maxAttempts: 2 }));
    const event = await send(gateway, 'T-3');
    const later = await send(gateway, 'T-3');
    const [first] = await lease(gateway);
    const nacked = await settle(gateway, first?.id as string, 'nack', {
      delayMs: 0,
      reason: 'busy',
    });
    expect(nacked.json()).toMatchObject({ status: 'pending' });
    const [second] = await lease(gateway);
    expect(second).toMatchObject({ id: first?.id, attempt: 2 });
    const dead = await settle(gateway, second?.id as string, 'nack', { reason: 'still busy' });
    expect(dead.json()).toMatchObject({ status: 'dead', nextAttemptAt: null });
    // The record's next event goes ahead of the dead one.
    const [next] = await lease(gateway);
    expect(next?.events.map((e) => e.id)).toEqual([later]);

    // An operator puts the dead event back in line.
    const redelivered = await gateway.app.inject({
      method: 'POST',
      url: `/v1/events/${event}/redeliver`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(redelivered.statusCode).toBe(200);
    expect(redelivered.json()).toEqual({ event, requeued: [{ agent: 'bot', event }] });
    await settle(gateway, next?.id as string, 'ack');
    const [back] = await lease(gateway);
    expect(back?.events.map((e) => e.id)).toEqual([event]);
  });

  it('holds a redelivered earlier event back while a later one of its record is out', async () => {
    const gateway = await start(agentConfig({ events: ['*'] }));
    const first = await send(gateway, 'T-12');
    const second = await send(gateway, 'T-12');
    const [one] = await lease(gateway);
    await settle(gateway, one?.id as string, 'ack');
    const [two] = await lease(gateway);
    expect(two?.events.map((e) => e.id)).toEqual([second]);

    const redelivered = await gateway.app.inject({
      method: 'POST',
      url: `/v1/events/${first}/redeliver`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(redelivered.statusCode).toBe(200);
    // Never two deliveries of one record out at once.
    expect(await lease(gateway)).toEqual([]);
    // A late ack of the first by its event id does not swallow the redelivery it never saw.
    const late = await settle(gateway, first, 'ack');
    expect(late.statusCode).toBe(409);
    expect(late.json().type).toMatch(/not-handed-over$/);
    await settle(gateway, two?.id as string, 'ack');
    const [again] = await lease(gateway);
    expect(again?.events.map((e) => e.id)).toEqual([first]);
    // Redelivering what is out is refused.
    const open = await gateway.app.inject({
      method: 'POST',
      url: `/v1/events/${first}/redeliver`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(open.statusCode).toBe(409);
    expect(open.json().type).toMatch(/delivery-open$/);
  });

  it('answers clear errors for unknown deliveries and bad bodies', async () => {
    const gateway = await start(agentConfig({ events: ['*'] }));
    const unknown = await settle(gateway, 'dlv_0000', 'ack');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().type).toMatch(/delivery-not-found$/);
    const bad = await gateway.app.inject({
      method: 'POST',
      url: '/v1/events/lease',
      headers: { authorization: `Bearer ${KEY}` },
      payload: { max: 0 },
    });
    expect(bad.statusCode).toBe(400);
    const anonymous = await gateway.app.inject({ method: 'POST', url: '/v1/events/lease' });
    expect(anonymous.statusCode).toBe(401);
    await send(gateway, 'T-13');
    const [delivery] = await lease(gateway);
    const nul = await settle(gateway, delivery?.id as string, 'nack', { reason: 'a\u0000b' });
    expect(nul.statusCode).toBe(400);
    // A day was accepted and cut to an hour without a word.
    const tooLong = await settle(gateway, delivery?.id as string, 'nack', { delayMs: 86_400_000 });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().detail).toContain('delayMs');
    const nobody = await gateway.app.inject({
      method: 'POST',
      url: '/v1/agents/nobody/enable',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(nobody.statusCode).toBe(404);
  });

  it("prunes agents' delivery rows with their events, dead-lettering undelivered ones", async () => {
    const gateway = await start(agentConfig({ events: ['*'] }));
    const event = await send(gateway, 'T-11');
    await gateway.dispatcher.catchUp();
    // The gateway's pruning, retention.events (a week) from now.
    const pruned = await gateway.prune(Date.now() + 1_000 + WEEK);
    expect(pruned).toMatchObject({ events: 1, requests: 1, deliveries: 1 });
    expect(await lease(gateway)).toEqual([]);
    const audit = await gateway.store.db
      .selectFrom('audit_log')
      .select('change')
      .where('subject', '=', event)
      .orderBy('seq')
      .execute();
    expect(audit.map((row) => row.change)).toEqual(['received', 'dead-lettered']);
  });

  it('hands only the event types and sources subscribed to', async () => {
    const gateway = await start(agentConfig({ events: ['ticket.created'] }));
    await send(gateway, 'T-5', { type: 'ticket.updated' });
    const created = await send(gateway, 'T-6', { type: 'ticket.created' });
    const leased = await lease(gateway);
    expect(leased.map((d) => d.events[0]?.id)).toEqual([created]);
  });

  it('marks an event older than one already delivered for its record superseded', async () => {
    const gateway = await start(agentConfig({ events: ['*'] }));
    const now = Date.now();
    const newer = await send(gateway, 'T-4', { at: new Date(now) });
    const [first] = await lease(gateway);
    expect(first?.events[0]?.id).toBe(newer);
    await settle(gateway, first?.id as string, 'ack');
    const older = await send(gateway, 'T-4', { at: new Date(now - 60_000) });
    expect(await lease(gateway)).toEqual([]);
    const after = await send(gateway, 'T-4', { at: new Date(now + 1_000) });
    const [next] = await lease(gateway);
    expect(next?.events.map((e) => e.id)).toEqual([after]);
    expect(next?.context.skipped).toEqual([
      { id: older, type: 'ticket.updated', status: 'superseded', echoOf: null },
    ]);
  });

  // Zendesk's comment and HubSpot's message, each matched by the default globs whatever its case.
  it.each(['zen:event-type:ticket.comment_added', 'conversation.newMessage'])(
    'hands a late %s over all the same: news is never superseded',
    async (type) => {
      const gateway = await start(agentConfig({ events: ['*'] }));
      const now = Date.now();
      const newer = await send(gateway, 'T-12', { at: new Date(now) });
      const [first] = await lease(gateway);
      expect(first?.events[0]?.id).toBe(newer);
      await settle(gateway, first?.id as string, 'ack');
      // A customer's message whose webhook was held back until after the newer event was acked.
      const message = await send(gateway, 'T-12', { at: new Date(now - 60_000), type });
      const [late] = await lease(gateway);
      expect(late?.events.map((e) => e.id)).toEqual([message]);
      expect(late?.context.skipped).toEqual([]);
    },
  );

  it('refuses an event time far in the future, which would make every later event look old', async () => {
    const gateway = await start(agentConfig({ events: ['*'] }));
    const body = JSON.stringify({
      type: 'ticket.updated',
      timestamp: '2099-01-01T00:00:00Z',
      data: { type: 'ticket', id: 'T-30' },
    });
    const refused = await postSigned(gateway, body, 'msg_2099');
    expect(refused.statusCode).toBe(400);
    expect(refused.json().problems).toEqual([
      expect.stringMatching(/^timestamp: 2099-01-01T00:00:00.000Z is not a time from /),
    ]);
    // The record's later events are each handed over, none superseded.
    for (const offset of [0, 1_000]) {
      const event = await send(gateway, 'T-30', { at: new Date(Date.now() + offset) });
      const [delivery] = await lease(gateway);
      expect(delivery?.events.map((e) => e.id)).toEqual([event]);
      await settle(gateway, delivery?.id as string, 'ack');
    }
  });

  it('hands over the rest of a lease when a stored event has a time no Date can hold', async () => {
    const gateway = await start(agentConfig({ events: ['*'] }));
    const bad = await send(gateway, 'T-31');
    const good = await send(gateway, 'T-32');
    // As Stripe's `created: 1e13` was stored before ingest checked the range.
    await gateway.store.db
      .updateTable('events')
      .set({ occurred_at: 1e16 })
      .where('id', '=', bad)
      .execute();
    const leased = await lease(gateway);
    expect(leased.map((d) => d.events.map((e) => [e.id, e.occurredAt]))).toEqual([
      [[bad, null]],
      [[good, expect.any(String)]],
    ]);
    for (const url of ['/v1/events', `/v1/events/${bad}`, `/v1/trace/${bad}`]) {
      const response = await gateway.app.inject({
        method: 'GET',
        url,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(response.statusCode, `${url}: ${response.body}`).toBe(200);
    }
  });

  it('gives back, uncounted, a delivery whose record cannot be read, and hands it over later', async () => {
    const sandbox = await startSandbox();
    try {
      const [ticket] = sandbox.seed({ tickets: [{ subject: 'Refund?' }] }).tickets as [
        { id: string },
      ];
      // One attempt only: a read failure that counted would dead-letter the event at once.
      const gateway = await start({
        ...agentConfig({ events: ['*'], maxAttempts: 1 }),
        connectors: { demo: { kind: 'sandbox', url: sandbox.url, timeout: '1s' } },
      });
      const event = await send(gateway, ticket.id);
      // The system is down for three leases.
      sandbox.faults.add({ operation: 'ticket.read', status: 503, times: 3 });
      for (let i = 0; i < 3; i++) {
        expect(await lease(gateway)).toEqual([]);
        const [row] = await gateway.store.db
          .selectFrom('deliveries')
          .select(['status', 'attempts', 'last_error'])
          .execute();
        expect(row).toMatchObject({ status: 'pending', attempts: 0 });
        expect(row?.last_error).toMatch(/the record could not be read: .*503/);
        // Due again now, rather than after unsentDelayMs.
        await gateway.store.db.updateTable('deliveries').set({ next_attempt_at: 0 }).execute();
      }
      const [delivery] = await lease(gateway);
      expect(delivery).toMatchObject({ attempt: 1, context: { revision: expect.any(String) } });
      expect(delivery?.events.map((e) => e.id)).toEqual([event]);
    } finally {
      await sandbox.close();
    }
  });

  it('hands over the payload of a body that begins with a byte-order mark', async () => {
    const gateway = await start(agentConfig({ events: ['*'] }));
    const payload = { type: 'ticket.updated', data: { type: 'ticket', id: 'T-33' } };
    const body = `\uFEFF${JSON.stringify(payload)}`;
    const response = await postSigned(gateway, body, 'msg_bom');
    expect(response.statusCode).toBe(202);
    const [delivery] = await lease(gateway);
    expect(delivery?.events[0]?.payload).toEqual(payload);
  });

  it('hands the items of a HubSpot batch over in the order they came', async () => {
    const url = 'https://airlock.example.com/hooks/crm';
    const gateway = await start({
      ...agentConfig({ events: ['*'] }),
      sources: { crm: { scheme: 'hubspot-v3', secrets: [HUBSPOT_SECRET], url } },
    });
    const at = Date.now() - 5_000;
    // eventId 10 sorts before 9 as text: the batch's order is what counts.
    const items = [9, 10].map((eventId, n) => ({
      eventId,
      subscriptionId: 7,
      portalId: 62515,
      appId: 1,
      occurredAt: at + n * 1_000,
      subscriptionType: 'contact.propertyChange',
      attemptNumber: 0,
      objectId: 501,
      propertyName: 'lifecyclestage',
      propertyValue: n === 0 ? 'lead' : 'customer',
    }));
    const body = JSON.stringify(items);
    const response = await gateway.app.inject({
      method: 'POST',
      url: '/hooks/crm',
      headers: signHubspot(url, body, HUBSPOT_SECRET),
      payload: body,
    });
    expect(response.statusCode).toBe(202);
    const [nine, ten] = response.json().events.map((e: { event: string }) => e.event);
    for (const event of [nine, ten]) {
      const [delivery] = await lease(gateway);
      expect(delivery?.events.map((e) => e.id)).toEqual([event]);
      await settle(gateway, delivery?.id as string, 'ack');
    }
  });

  it('delivers the events of a burst on one record together under a settle window', async () => {
    const gateway = await start(agentConfig({ events: ['*'], settle: 400 }));
    const burst = [
      await send(gateway, 'T-7'),
      await send(gateway, 'T-7'),
      await send(gateway, 'T-7'),
    ];
    expect(await lease(gateway)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 450));
    const [together] = await lease(gateway);
    expect(together?.events.map((e) => e.id)).toEqual(burst);
    expect(together?.basis.events).toEqual(burst);
  });

  it('keeps per-record order with two consumers leasing concurrently over many records', async () => {
    const gateway = await start(agentConfig({ events: ['*'] }));
    const records = Array.from({ length: 12 }, (_, i) => `R-${i}`);
    const sent = new Map<string, string[]>(records.map((r) => [r, []]));
    // Events of different records interleaved, sent concurrently per round.
    for (let round = 0; round < 5; round += 1) {
      const ids = await Promise.all(records.map((r) => send(gateway, r)));
      for (const [i, id] of ids.entries()) sent.get(records[i] as string)?.push(id);
    }
    const seen = new Map<string, string[]>(records.map((r) => [r, []]));
    const inFlight = new Set<string>();
    let overlaps = 0;
    const consumer = async () => {
      for (let idle = 0; idle < 20; ) {
        const leased = await lease(gateway, { max: 5 });
        if (leased.length === 0) {
          idle += 1;
          await new Promise((resolve) => setTimeout(resolve, 10));
          continue;
        }
        idle = 0;
        await Promise.all(
          leased.map(async (delivery) => {
            const record = delivery.record?.id as string;
            if (inFlight.has(record)) overlaps += 1;
            inFlight.add(record);
            seen.get(record)?.push(...delivery.events.map((e) => e.id));
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
            inFlight.delete(record);
            const acked = await settle(gateway, delivery.id, 'ack');
            expect(acked.statusCode).toBe(200);
          }),
        );
      }
    };
    await Promise.all([consumer(), consumer()]);
    expect(overlaps).toBe(0);
    // Each record's events arrive in the order they were received, each exactly once.
    for (const record of records) {
      const order = await gateway.store.db
        .selectFrom('events')
        .select('id')
        .where('record_id', '=', record)
        .orderBy('id')
        .execute();
      expect(seen.get(record)).toEqual(order.map((row) => row.id));
      expect(new Set(seen.get(record))).toEqual(new Set(sent.get(record)));
    }
  });

  it('pushes signed deliveries, retries a failing receiver honouring Retry-After, then acks', async () => {
    const answers = [503, 429, 200];
    // Backoff would wait 1.6–2.4 s after the second attempt; the 429 asks for four.
    const receiver = await startReceiver({
      answer: (n) => answers[n] ?? 200,
      headers: (n): Record<string, string> => (n === 1 ? { 'retry-after': '4' } : {}),
    });
    try {
      const gateway = await start(
        agentConfig({
          url: `${receiver.url}/events`,
          secret: PUSH_SECRET,
          events: ['*'],
          allowPrivateNetwork: true,
        }),
      );
      const event = await send(gateway, 'T-8');
      const requests = await receiver.waitFor(3, 15_000);
      const ids = new Set(requests.map((r) => r.headers['webhook-id']));
      expect(ids.size).toBe(1);
      const webhook = new Webhook(PUSH_SECRET);
      for (const request of requests) {
        const verified = webhook.verify(request.body.toString('utf8'), request.headers) as Delivery;
        expect(verified.events.map((e) => e.id)).toEqual([event]);
      }
      const bodies = requests.map((r) => JSON.parse(r.body.toString('utf8')) as Delivery);
      expect(bodies.map((b) => b.attempt)).toEqual([1, 2, 3]);
      const at = requests.map((r) => Number(r.headers['webhook-timestamp']));
      expect((at[2] as number) - (at[1] as number)).toBeGreaterThanOrEqual(4);
      const row = await eventually(
        () =>
          gateway.store.db
            .selectFrom('deliveries')
            .select(['status', 'attempts'])
            .where('event_id', '=', event)
            .executeTakeFirstOrThrow(),
        (r) => r.status === 'acked',
      );
      expect(row.attempts).toBe(3);
    } finally {
      await receiver.close();
    }
  });

  it('stops pushing to an endpoint that answers 410 until it is enabled again', async () => {
    const receiver = await startReceiver({ answer: (n) => (n === 0 ? 410 : 204) });
    try {
      const gateway = await start(
        agentConfig({
          url: receiver.url,
          secret: PUSH_SECRET,
          events: ['*'],
          allowPrivateNetwork: true,
        }),
      );
      const event = await send(gateway, 'T-10');
      await receiver.waitFor(1);
      await eventually(
        () => gateway.store.db.selectFrom('agent_endpoints').selectAll().execute(),
        (rows) => rows.length === 1,
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(receiver.received).toHaveLength(1);
      const enabled = await gateway.app.inject({
        method: 'POST',
        url: '/v1/agents/bot/enable',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(enabled.json()).toEqual({ agent: 'bot', enabled: true });
      await receiver.waitFor(2);
      await eventually(
        () =>
          gateway.store.db
            .selectFrom('deliveries')
            .select('status')
            .where('event_id', '=', event)
            .executeTakeFirstOrThrow(),
        (r) => r.status === 'acked',
      );
    } finally {
      await receiver.close();
    }
  });
});

describe('delivery on PostgreSQL, where two instances interleave', () => {
  const start = useTestGateways('postgres');

  it('an ack committing while another consumer leases is not overwritten by the lease', async () => {
    const gateway = await start(agentConfig({ events: ['*'] }));
    await send(gateway, 'T-14');
    const [first] = await lease(gateway, { visibilityMs: 1_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // The lease ran out. The agent's ack is committing when another consumer leases.
    let leasing: Promise<Delivery[]> | undefined;
    await gateway.store.db.transaction().execute(async (trx) => {
      await ackDelivery(trx, {
        agent: 'bot',
        id: first?.id as string,
        now: Date.now(),
        dialect: 'postgres',
      });
      leasing = lease(gateway);
      await new Promise((resolve) => setTimeout(resolve, 300));
    });
    expect(await leasing).toEqual([]);
    const row = await gateway.store.db
      .selectFrom('deliveries')
      .select('status')
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('acked');
  });
});

/** A Standard Webhooks request of `body` as it is, signed, to the `demo` source. */
function postSigned(gateway: { app: FastifyInstance }, body: string, id: string) {
  return gateway.app.inject({
    method: 'POST',
    url: '/hooks/demo',
    headers: signStandardWebhook(body, id),
    payload: body,
  });
}
