import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type EchoLoop,
  type PlayedChain,
  playReplyAndCancel,
  startEchoLoop,
} from '../../test/helpers/echo-loop.js';
import { VIEWER_TOKEN } from '../../test/helpers/gateway.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../../test/helpers/stores.js';
import type { Store } from '../store/index.js';
import { type Trace, traceOf } from './index.js';

/** The step names with their subjects, as `step subject`, in timeline order. */
const stepsOf = (trace: Trace) => trace.timeline.map((step) => `${step.step} ${step.subject}`);

/** The document without the query that led to it: the same chain found from any of its ids. */
const chainOf = ({ query: _query, ...chain }: Trace) => chain;

/** Asserts `earlier` comes before `later` in `steps`, each present. */
function expectInOrder(steps: string[], ...names: string[]): void {
  const positions = names.map((name) => steps.indexOf(name));
  expect(positions, `${names.join(' < ')} in\n${steps.join('\n')}`).not.toContain(-1);
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
}

/**
 * The audit entries of the chain's subjects as read straight from the log. The audit appends
 * are being wired into the other modules: while there are none, this is empty and so is the
 * trace's audit part.
 */
async function auditOf(store: Store, trace: Trace): Promise<number[]> {
  const subjects = new Set([
    ...trace.events.map((event) => event.id),
    ...trace.actions.flatMap((action) =>
      action.approval ? [action.id, action.approval.id] : [action.id],
    ),
  ]);
  const rows = await store.db.selectFrom('audit_log').select(['seq', 'subject']).execute();
  return rows
    .filter((row) => subjects.has(row.subject))
    .map((row) => row.seq)
    .sort((a, b) => a - b);
}

describe.each(BACKENDS)('traceOf on %s', (backend) => {
  let database: TestDatabase;
  let loop: EchoLoop;
  let chain: PlayedChain;

  beforeAll(async () => {
    database = createTestDatabase(backend);
    loop = await startEchoLoop(database);
    chain = await playReplyAndCancel(loop);
  });

  afterAll(async () => {
    await loop?.close();
    await database?.drop();
  });

  it('traces an action to the webhook it was based on, its decision, its write and its echo', async () => {
    const trace = await traceOf(loop.store, chain.reply);
    const ticket = { system: 'helpdesk', type: 'ticket', id: chain.ticket };

    expect(trace.query).toEqual({ id: chain.reply, kind: 'action' });
    expect(chain.replyEchoes.length).toBeGreaterThan(0);
    expect(trace.events.map((event) => event.id)).toEqual([chain.event, ...chain.replyEchoes]);
    expect(trace.events[0]).toMatchObject({
      source: 'helpdesk',
      providerEventId: chain.providerEventId,
      type: 'zen:event-type:ticket.comment_added',
      record: ticket,
      duplicates: 0,
      echoOf: null,
    });
    for (const echo of trace.events.slice(1)) {
      expect(echo).toMatchObject({ source: 'helpdesk', record: ticket, echoOf: chain.reply });
    }
    expect(trace.actions).toEqual([
      expect.objectContaining({
        id: chain.reply,
        agent: 'bot',
        idempotencyKey: chain.replyKey,
        status: 'executed',
        decision: {
          model: 'test-model',
          summary: 'the customer asks where the order is',
          context: { orderStatus: 'open' },
        },
        proposal: {
          operation: 'ticket.reply',
          target: ticket,
          params: { body: 'It ships today.' },
          basis: { revision: '2', events: [chain.event] },
        },
        verdict: expect.objectContaining({ kind: 'allow' }),
        approval: null,
        execution: expect.objectContaining({
          attempts: 1,
          status: 'executed',
          expectedRevision: '2',
          error: null,
          effect: expect.objectContaining({
            revision: '3',
            after: { comment: expect.objectContaining({ kind: 'reply', body: 'It ships today.' }) },
          }),
        }),
        echoes: chain.replyEchoes,
      }),
    ]);

    const steps = stepsOf(trace);
    expectInOrder(
      steps,
      `webhook received ${chain.event}`,
      `proposed ${chain.reply}`,
      `policy ${chain.reply}`,
      `executed ${chain.reply}`,
    );
    // The echo may be received before or after Airlock records the write as executed.
    for (const echo of chain.replyEchoes) {
      expectInOrder(steps, `policy ${chain.reply}`, `echo received ${echo}`);
    }
    expect(trace.timeline.find((step) => step.step === 'executed')?.summary).toBe(
      'ticket.reply: comment added (revision 2 → 3)',
    );
    const times = trace.timeline.map((step) => Date.parse(step.at));
    expect(times).toEqual([...times].sort((a, b) => a - b));

    expect(trace.audit.map((entry) => entry.seq)).toEqual(await auditOf(loop.store, trace));
  });

  it('finds the same chain from the event, its provider id, the key, the record and the echo', async () => {
    const byAction = chainOf(await traceOf(loop.store, chain.reply));
    const ids = [
      ['event', chain.event],
      ['provider-event', chain.providerEventId],
      ['idempotency-key', chain.replyKey],
      ['record', `helpdesk:ticket:${chain.ticket}`],
      ['event', chain.replyEchoes[0] as string],
    ] as const;
    for (const [kind, id] of ids) {
      const trace = await traceOf(loop.store, id);
      expect(trace.query, id).toEqual({ id, kind });
      expect(chainOf(trace), kind).toEqual(byAction);
    }
  });

  it('traces an approved order cancellation from its approval id', async () => {
    const trace = await traceOf(loop.store, chain.approval);
    expect(trace.query).toEqual({ id: chain.approval, kind: 'approval' });
    expect(chainOf(trace)).toEqual(chainOf(await traceOf(loop.store, chain.cancel)));
    expect(trace.actions).toEqual([
      expect.objectContaining({
        id: chain.cancel,
        status: 'executed',
        proposal: expect.objectContaining({ operation: 'order.cancel', basis: expect.anything() }),
        verdict: expect.objectContaining({ kind: 'needs_approval' }),
        approval: expect.objectContaining({
          id: chain.approval,
          status: 'approved',
          decidedBy: 'ana',
          comment: 'confirmed by phone',
          decidedAt: expect.any(String),
        }),
        echoes: chain.cancelEchoes,
      }),
    ]);
    expect(chain.cancelEchoes.length).toBeGreaterThan(0);
    expect(trace.events.map((event) => event.id)).toEqual(chain.cancelEchoes);
    expect(trace.events.every((event) => event.echoOf === chain.cancel)).toBe(true);

    const steps = stepsOf(trace);
    expectInOrder(
      steps,
      `proposed ${chain.cancel}`,
      `policy ${chain.cancel}`,
      `approval requested ${chain.approval}`,
      `approved ${chain.approval}`,
      `executed ${chain.cancel}`,
    );
    for (const echo of chain.cancelEchoes) {
      expectInOrder(steps, `approved ${chain.approval}`, `echo received ${echo}`);
    }
    const summary = (name: string) => trace.timeline.find((step) => step.step === name)?.summary;
    expect(summary('approved')).toBe('by ana: "confirmed by phone"');
    expect(summary('executed')).toBe('order.cancel: status open → cancelled (revision 1 → 2)');
    expect(trace.audit.map((entry) => entry.seq)).toEqual(await auditOf(loop.store, trace));
  });

  it('answers GET /v1/trace/:id for viewers, and 404 for an id that names nothing', async () => {
    const get = (id: string, token: string | null = VIEWER_TOKEN) =>
      loop.gateway.app.inject({
        method: 'GET',
        url: `/v1/trace/${encodeURIComponent(id)}`,
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    const record = `helpdesk:ticket:${chain.ticket}`;
    const found = await get(record);
    expect(found.statusCode).toBe(200);
    expect(found.json()).toMatchObject({
      query: { id: record, kind: 'record' },
      actions: [expect.objectContaining({ id: chain.reply })],
    });
    expect(JSON.parse(found.body)).toEqual(
      JSON.parse(JSON.stringify(await traceOf(loop.store, record))),
    );

    // Longer than the router's 100-character limit on a `:param`.
    const unknown = await get(`no-such-key-${'x'.repeat(200)}`);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({
      type: 'urn:airlock:problem:trace-not-found',
      id: `no-such-key-${'x'.repeat(200)}`,
    });
    expect((await get('evt_0000000000000000')).statusCode).toBe(404);
    expect((await get(chain.reply, null)).statusCode).toBe(401);
  });
});
