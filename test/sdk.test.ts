import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  AirlockClient,
  AirlockError,
  type Delivery,
  DeliveryVerificationError,
  deriveIdempotencyKey,
  type ProposalResult,
  verifyDelivery,
} from '../src/client/index.js';
import type { Store } from '../src/store/index.js';
import { LOOP_AGENT_KEY, startEchoLoop } from './helpers/echo-loop.js';
import { freePort } from './helpers/gateway-process.js';
import { call, type startSandbox } from './helpers/sandbox.js';
import { BACKENDS, useTestStores } from './helpers/stores.js';

type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

/**
 * The embedded setting on loopback (`startEchoLoop`): a gateway listening on a real port, a
 * sandbox whose webhooks come back to it, and the SDK's client as agent `bot`.
 */
function useLoop(backend: (typeof BACKENDS)[number]) {
  const stores = useTestStores(backend);

  return async (agent: { deliver?: Record<string, unknown> } = {}) => {
    const loop = stores.closedAfter(await startEchoLoop(stores.database, agent));
    const { store, sandbox, gateway } = loop;
    const url = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;
    const seeded = sandbox.seed({
      tickets: [{ subject: 'Where is my order?' }],
      orders: [{ currency: 'EUR', subtotal: 120 }],
    });
    const writes = async (): Promise<Array<{ operation: string }>> =>
      (await call(sandbox.url, 'GET', '/_writes')).body.writes;
    return {
      url,
      store,
      sandbox,
      writes,
      client: new AirlockClient({ url, key: LOOP_AGENT_KEY }),
      ticket: seeded.tickets[0] as { id: string; revision: number },
      order: seeded.orders[0] as { id: string; revision: number },
    };
  };
}

/** A customer comments on the ticket: the sandbox sends the webhook; its inbox event's id. */
async function customerComments(
  loop: { sandbox: Sandbox; store: Store },
  ticket: string,
): Promise<{ event: string; revision: string }> {
  const commented = await call(loop.sandbox.url, 'PUT', `/api/tickets/${ticket}`, {
    comment: { kind: 'message', body: 'It has been two weeks.' },
  });
  expect(commented.status).toBe(200);
  await loop.sandbox.webhooksSettled();
  const event = await loop.store.db
    .selectFrom('events')
    .select('id')
    .where('record_id', '=', ticket)
    .where('type', '=', 'zen:event-type:ticket.comment_added')
    .executeTakeFirstOrThrow();
  return { event: event.id, revision: String(commented.body.ticket.revision) };
}

describe.each(BACKENDS)('the SDK against a gateway on %s', (backend) => {
  const start = useLoop(backend);

  it('proposes a write that is executed, and replays the same call without a second write', async () => {
    const { client, sandbox, ticket, writes } = await start();
    const proposal = {
      operation: 'ticket.set_status',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { status: 'pending' },
      basis: { revision: String(ticket.revision) },
      decision: { model: 'test-model', summary: 'waiting for the customer' },
      idempotencyKey: 'k-sdk-1',
    } as const;
    const first = await client.propose(proposal);
    expect(first).toMatchObject({
      outcome: 'executed',
      status: 200,
      replayed: false,
      idempotencyKey: 'k-sdk-1',
    });
    if (first.outcome !== 'executed') throw new Error('not executed');
    expect(first.action).toMatchObject({ status: 'executed', operation: 'ticket.set_status' });
    const inSandbox = await call(sandbox.url, 'GET', `/api/tickets/${ticket.id}`);
    expect(inSandbox.body.ticket.status).toBe('pending');

    const again = await client.propose(proposal);
    expect(again).toMatchObject({ outcome: 'executed', replayed: true });
    if (again.outcome !== 'executed') throw new Error('not executed');
    expect(again.action.action).toBe(first.action.action);
    expect(await writes()).toHaveLength(1);

    expect(await client.getAction(first.action.action)).toMatchObject({
      action: first.action.action,
      status: 'executed',
    });
  });

  it('derives one key for one decision: identical proposals, or a second decision on the same event, write once', async () => {
    const loop = await start();
    const { client, ticket, writes } = loop;
    const target = { system: 'helpdesk', type: 'ticket', id: ticket.id };
    const tag = () =>
      client.propose({
        operation: 'ticket.tag',
        target,
        params: { add: ['vip'] },
        basis: { revision: String(ticket.revision) },
      });
    const first = await tag();
    const second = await tag();
    expect(first).toMatchObject({ outcome: 'executed', replayed: false });
    expect(second).toMatchObject({ outcome: 'executed', replayed: true });
    expect(second.idempotencyKey).toBe(first.idempotencyKey);
    expect(second.idempotencyKey).toMatch(/^airlock-[0-9a-f]{64}$/);
    expect(await writes()).toHaveLength(1);

    // The agent is triggered twice by one customer message and words its reply differently.
    const { event, revision } = await customerComments(loop, ticket.id);
    const before = (await writes()).length;
    const reply = (body: string) =>
      client.propose({
        operation: 'ticket.reply',
        target,
        params: { body },
        basis: { revision, events: [event] },
      });
    expect(await reply('It ships today.')).toMatchObject({ outcome: 'executed' });
    const twice = await reply('Your order ships today.');
    expect(twice).toMatchObject({
      outcome: 'refused',
      status: 422,
      code: 'idempotency-key-reuse',
    });
    expect(await writes()).toHaveLength(before + 1);
  });

  it('answers a stale basis as a refusal with what changed, and writes nothing', async () => {
    const { client, sandbox, ticket, writes } = await start();
    const outside = await call(sandbox.url, 'PUT', `/api/tickets/${ticket.id}`, {
      status: 'open',
      comment: { body: 'Any news?', kind: 'message' },
    });
    expect(outside.status).toBe(200);
    const before = (await writes()).length;
    const result: ProposalResult = await client.propose({
      operation: 'ticket.set_status',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { status: 'closed' },
      basis: { revision: String(ticket.revision) },
    });
    expect(result).toMatchObject({ outcome: 'refused', status: 409, code: 'stale-basis' });
    if (result.outcome !== 'refused' || result.code !== 'stale-basis') throw new Error('not stale');
    // Typed by its code: the members of the stale-basis problem.
    expect(result.problem.type).toBe('urn:airlock:problem:stale-basis');
    expect(result.problem.basisRevision).toBe(String(ticket.revision));
    expect(result.problem.currentRevision).toBe(String(outside.body.ticket.revision));
    expect(result.problem.current).toMatchObject({ status: 'open' });
    expect(typeof result.problem.detail).toBe('string');
    expect(await writes()).toHaveLength(before);
    // Decided again on the current revision: the derived key is the same, and it goes through.
    const again = await client.propose({
      operation: 'ticket.set_status',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { status: 'closed' },
      basis: { revision: result.problem.currentRevision },
    });
    expect(again).toMatchObject({ outcome: 'executed', idempotencyKey: result.idempotencyKey });
    expect(await writes()).toHaveLength(before + 1);
  });

  it('answers a high-risk operation as pending approval, with the approval to follow', async () => {
    const { client, order, writes } = await start();
    const result = await client.propose({
      operation: 'order.cancel',
      target: { system: 'crm', type: 'order', id: order.id },
      params: { reason: 'customer asked' },
      basis: { revision: String(order.revision) },
    });
    expect(result).toMatchObject({ outcome: 'pending_approval', status: 202, replayed: false });
    if (result.outcome !== 'pending_approval') throw new Error('not pending');
    expect(result.approval).toMatch(/\S/);
    expect(result.action.status).toBe('pending_approval');
    expect(await writes()).toHaveLength(0);
  });

  it('answers a dry run with what would happen, and executes the real proposal afterwards', async () => {
    const { client, ticket, writes } = await start();
    const proposal = {
      operation: 'ticket.assign',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { assignee: 'ana' },
      basis: { revision: String(ticket.revision) },
    } as const;
    const dry = await client.propose({ ...proposal, dryRun: true });
    expect(dry).toMatchObject({ outcome: 'dry_run', dryRun: { outcome: 'execute' } });
    expect(await writes()).toHaveLength(0);
    expect(await client.propose(proposal)).toMatchObject({ outcome: 'executed' });
  });

  it('throws an AirlockError for a rejected key, a missing action and an unreachable gateway', async () => {
    const { url, client, ticket } = await start();
    const stranger = new AirlockClient({ url, key: 'ak_nobody' });
    const refused = await stranger
      .propose({
        operation: 'ticket.add_note',
        target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
        params: { body: 'hello' },
      })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AirlockError);
    expect(refused).toMatchObject({ status: 401, code: 'unauthorized' });

    const missing = await client.getAction('act_missing').catch((error: unknown) => error);
    expect(missing).toMatchObject({ status: 404, code: 'action-not-found' });
    expect((missing as AirlockError).problem?.type).toBe('urn:airlock:problem:action-not-found');

    const nowhere = new AirlockClient({ url: `http://127.0.0.1:${await freePort()}`, key: 'x' });
    const unreachable = await nowhere.getAction('act_1').catch((error: unknown) => error);
    expect(unreachable).toBeInstanceOf(AirlockError);
    expect(unreachable).toMatchObject({ status: null, code: 'transport' });
  });
});

describe.each(BACKENDS)('pull delivery through the SDK on %s', (backend) => {
  const start = useLoop(backend);

  it('consumes a delivery, proposes on its basis, acks it, and gets nothing more', async () => {
    const loop = await start({ deliver: { events: ['*'] } });
    const { client, ticket } = loop;
    const { event } = await customerComments(loop, ticket.id);

    const handled: Delivery[] = [];
    const results: ProposalResult[] = [];
    const errors: unknown[] = [];
    const stop = new AbortController();
    const deadline = setTimeout(() => stop.abort(), 10_000);
    await client.consume(
      async (delivery) => {
        handled.push(delivery);
        if (!delivery.record) return;
        results.push(
          await client.propose({
            operation: 'ticket.add_note',
            target: delivery.record,
            params: { body: 'Looked into it.' },
            basis: delivery.basis,
          }),
        );
        if (delivery.events.some((delivered) => delivered.id === event)) stop.abort();
      },
      // Short, so that a delivery left unacked would be offered again to the second run.
      { signal: stop.signal, idleMs: 50, visibilityMs: 1_000, onError: (e) => errors.push(e) },
    );
    clearTimeout(deadline);

    const mine = handled.find((delivery) => delivery.events.some((e) => e.id === event));
    expect(mine, 'the comment was delivered').toBeDefined();
    expect(mine).toMatchObject({
      type: 'airlock.delivery',
      agent: 'bot',
      record: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      context: { record: { status: expect.any(String) } },
    });
    expect(mine?.basis.events).toContain(event);
    expect(results.at(-1)).toMatchObject({ outcome: 'executed' });
    expect(errors).toEqual([]);

    // The note's own echo arrives; it is no news to the agent, and the delivery was acked.
    await loop.sandbox.webhooksSettled();
    const later: Delivery[] = [];
    const again = new AbortController();
    const window = setTimeout(() => again.abort(), 2_500);
    await client.consume(async (delivery) => void later.push(delivery), {
      signal: again.signal,
      idleMs: 50,
      onError: (error) => errors.push(error),
    });
    clearTimeout(window);
    expect(later).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('nacks a delivery whose handler throws, and has it again', async () => {
    const loop = await start({ deliver: { events: ['*'] } });
    const { event } = await customerComments(loop, loop.ticket.id);
    const attempts: Array<{ delivery: string; attempt: number }> = [];
    const failures: Array<{ phase: string; message: string }> = [];
    const stop = new AbortController();
    const deadline = setTimeout(() => stop.abort(), 10_000);
    await loop.client.consume(
      async (delivery) => {
        if (!delivery.events.some((delivered) => delivered.id === event)) return;
        attempts.push({ delivery: delivery.id, attempt: delivery.attempt });
        if (attempts.length === 1) throw new Error('the model timed out');
        stop.abort();
      },
      {
        signal: stop.signal,
        idleMs: 50,
        onError: (error, context) =>
          failures.push({ phase: context.phase, message: (error as Error).message }),
      },
    );
    clearTimeout(deadline);
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(failures).toEqual([{ phase: 'handler', message: 'the model timed out' }]);
  });

  it('reads a record with the revision to name as the basis', async () => {
    const { client, ticket } = await start({ deliver: { events: ['*'] } });
    const view = await client.readRecord({ system: 'helpdesk', type: 'ticket', id: ticket.id });
    expect(view).toMatchObject({
      record: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      revision: String(ticket.revision),
      fields: { subject: 'Where is my order?' },
    });
  });
});

describe('deriveIdempotencyKey', () => {
  const target = { system: 'helpdesk', type: 'ticket', id: 'T-1' };

  it('is the same for the same decision, whatever the order of keys or events', () => {
    const key = deriveIdempotencyKey({
      operation: 'contact.update',
      target,
      params: { changes: { a: 1, b: [1, { y: 2, x: 1 }] } },
    });
    expect(key).toMatch(/^airlock-[0-9a-f]{64}$/);
    expect(
      deriveIdempotencyKey({
        operation: 'contact.update',
        target: { id: 'T-1', type: 'ticket', system: 'helpdesk' },
        params: { changes: { b: [1, { x: 1, y: 2 }], a: 1 } },
      }),
    ).toBe(key);
    expect(
      deriveIdempotencyKey({ operation: 'ticket.reply', target, events: ['evt_2', 'evt_1'] }),
    ).toBe(deriveIdempotencyKey({ operation: 'ticket.reply', target, events: ['evt_1', 'evt_2'] }));
  });

  it('differs by operation, target, events, and by params only when there are no events', () => {
    const base = { operation: 'ticket.reply', target, params: { body: 'a' } };
    const key = deriveIdempotencyKey(base);
    const others = [
      { ...base, operation: 'ticket.add_note' },
      { ...base, target: { ...target, id: 'T-2' } },
      { ...base, params: { body: 'b' } },
      { ...base, events: ['evt_1'] },
    ].map(deriveIdempotencyKey);
    expect(new Set([key, ...others]).size).toBe(5);
    expect(deriveIdempotencyKey({ ...base, events: ['evt_1'], params: { body: 'b' } })).toBe(
      deriveIdempotencyKey({ ...base, events: ['evt_1'] }),
    );
    // Empty events are no events: the params decide.
    expect(deriveIdempotencyKey({ ...base, events: [] })).toBe(key);
  });
});

describe('verifyDelivery', () => {
  const secret = `whsec_${Buffer.from('a delivery secret of 32 bytes!!!').toString('base64')}`;
  const delivery = {
    type: 'airlock.delivery',
    id: 'dlv_1',
    agent: 'bot',
    record: { system: 'helpdesk', type: 'ticket', id: '7' },
    events: [
      {
        id: 'evt_1',
        source: 'helpdesk',
        type: 'ticket.comment_added',
        occurredAt: null,
        receivedAt: '2025-01-01T00:00:00.000Z',
        payload: { body: 'hello' },
      },
    ],
    context: {
      record: { status: 'open' },
      revision: '3',
      readAt: '2025-01-01T00:00:00.000Z',
      skipped: [],
    },
    basis: { revision: '3', events: ['evt_1'] },
    attempt: 1,
    leaseUntil: null,
  };
  const body = JSON.stringify(delivery);

  /** Headers as the `standardwebhooks` library signs them, at `at`. */
  function signed(payload: string, at = new Date(), key = secret) {
    return {
      'webhook-id': 'dlv_1',
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(key).sign('dlv_1', at, payload),
    };
  }

  it('accepts a body signed by the standardwebhooks library, as node:http or fetch headers give it', () => {
    const headers = signed(body);
    expect(verifyDelivery(secret, headers, body)).toEqual(delivery);
    expect(verifyDelivery(secret, new Headers(headers), Buffer.from(body))).toEqual(delivery);
    const upper = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name.toUpperCase(), [value]]),
    );
    expect(verifyDelivery(secret, upper, body)).toEqual(delivery);
  });

  it('accepts any one matching signature of several, as during a secret rotation', () => {
    const headers = signed(body);
    const old = signed(
      body,
      new Date(),
      `whsec_${Buffer.from('the old secret').toString('base64')}`,
    );
    const both = {
      ...headers,
      'webhook-signature': `${old['webhook-signature']} v2,ignored ${headers['webhook-signature']}`,
    };
    expect(verifyDelivery(secret, both, body)).toEqual(delivery);
  });

  const now = new Date();
  const cases: Array<[string, () => unknown, RegExp]> = [
    [
      'a tampered body',
      () => verifyDelivery(secret, signed(body), body.replace('hello', 'hullo')),
      /no signature .* matches/,
    ],
    [
      'a wrong secret',
      () =>
        verifyDelivery(
          `whsec_${Buffer.from('another secret').toString('base64')}`,
          signed(body),
          body,
        ),
      /no signature .* matches/,
    ],
    [
      'an old timestamp',
      () => verifyDelivery(secret, signed(body, new Date(now.getTime() - 301_000)), body, { now }),
      /s old/,
    ],
    [
      'a timestamp in the future',
      () => verifyDelivery(secret, signed(body, new Date(now.getTime() + 301_000)), body, { now }),
      /in the future/,
    ],
    [
      'a missing signature',
      () => {
        const { 'webhook-signature': _, ...headers } = signed(body);
        return verifyDelivery(secret, headers, body);
      },
      /webhook-signature header is missing/,
    ],
    [
      'a signed body that is not an Airlock message',
      () => verifyDelivery(secret, signed('{"type":"other"}'), '{"type":"other"}'),
      /not an Airlock message/,
    ],
  ];
  it.each(cases)('rejects %s', (_name, verify, message) => {
    expect(verify).toThrow(DeliveryVerificationError);
    expect(verify).toThrow(message);
  });

  it('accepts an old timestamp within a wider tolerance', () => {
    const at = new Date(now.getTime() - 301_000);
    expect(verifyDelivery(secret, signed(body, at), body, { now, toleranceSeconds: 600 })).toEqual(
      delivery,
    );
  });
});
