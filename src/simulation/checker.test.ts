import { describe, expect, it } from 'vitest';
import { BACKENDS, useTestStores } from '../../test/helpers/stores.js';
import type { AppliedWrite, FieldChange } from '../sandbox/state.js';
import type { ActionStatus, Store } from '../store/index.js';
import { checkRun } from './checker.js';
import {
  type CheckResult,
  ERROR_CLASSES,
  type ErrorClass,
  type GroundTruth,
  type Intent,
  intentTag,
  leadMarker,
  type RefusedAction,
  replyMarker,
} from './model.js';
import { refusedActions } from './refusals.js';
import { integrityLine, integrityTable } from './report.js';

const AGENT = 'sim-agent';

/** A hand-made write log and its ground truth, built step by step as the scenario would. */
function history() {
  const writes: AppliedWrite[] = [];
  const truth = {
    messages: [] as { comment: string; ticket: string; intent: Intent }[],
    cancelRequested: [] as { ticket: string; order: string }[],
    leads: [] as string[],
    worldActors: ['customer', 'staff', 'form'],
  };
  let lastId = 5000;
  const write = (
    actor: string,
    operation: string,
    record: { type: string; id: string },
    changes: FieldChange[],
    extra: { actionId?: string; kind?: 'created' | 'updated'; snapshot?: object } = {},
  ) => {
    writes.push({
      seq: writes.length + 1,
      at: new Date(Date.UTC(2025, 0, 1, 0, 0, writes.length)).toISOString(),
      operation,
      system: record.type === 'ticket' ? 'helpdesk' : record.type === 'order' ? 'orders' : 'crm',
      kind: extra.kind ?? 'updated',
      record,
      revision: writes.length + 1,
      actor,
      actionId: extra.actionId ?? null,
      changes,
      snapshot: { ...extra.snapshot },
    });
  };
  const comment = (
    actor: string,
    ticket: string,
    kind: 'message' | 'reply' | 'note',
    body: string,
    actionId?: string,
  ) => {
    const id = String(++lastId);
    const value = { id, kind, body, public: kind !== 'note', author: actor, marker: null };
    write(
      actor,
      'ticket.update',
      { type: 'ticket', id: ticket },
      [{ field: 'comment', previous: null, value }],
      actionId === undefined ? {} : { actionId },
    );
    return id;
  };
  return {
    writes,
    truth: truth as GroundTruth,
    message(ticket: string, intent: Intent): string {
      const id = comment('customer', ticket, 'message', `hello ${intentTag(intent)}`);
      truth.messages.push({ comment: id, ticket, intent });
      return id;
    },
    reply(ticket: string, answers: string | null, actionId?: string): string {
      const marker = answers === null ? '' : ` ${replyMarker(answers)}`;
      return comment(AGENT, ticket, 'reply', `Here you go.${marker}`, actionId);
    },
    note(ticket: string): void {
      comment('staff', ticket, 'note', 'internal');
    },
    solve(ticket: string, actionId?: string): void {
      const change = { field: 'status', previous: 'open', value: 'solved' };
      write(AGENT, 'ticket.update', { type: 'ticket', id: ticket }, [change], { actionId });
    },
    requestCancel(ticket: string, order: string): void {
      truth.cancelRequested.push({ ticket, order });
    },
    cancel(order: string, reason = 'asked'): void {
      write(AGENT, 'order.cancel', { type: 'order', id: order }, [
        { field: 'status', previous: 'open', value: 'cancelled' },
        { field: 'cancelReason', previous: null, value: reason },
      ]);
    },
    lead(contact: string, email: string): void {
      truth.leads.push(contact);
      write('form', 'contact.create', { type: 'contact', id: contact }, [], {
        kind: 'created',
        snapshot: { properties: { email } },
      });
    },
    email(lead: string | null, contact: string, to: string): void {
      const subject = `Welcome${lead === null ? '' : ` ${leadMarker(lead)}`}`;
      write(AGENT, 'email.create', { type: 'email', id: String(++lastId) }, [], {
        kind: 'created',
        snapshot: {
          properties: { hs_email_subject: subject, hs_email_to: to },
          associations: [{ type: 'contact', id: contact }],
        },
      });
    },
  };
}

/** Asserts these error counts and zero for every other class. */
function expectErrors(result: CheckResult, expected: Partial<Record<ErrorClass, number>>): void {
  const all = Object.fromEntries(ERROR_CLASSES.map((name) => [name, expected[name] ?? 0]));
  expect(result.errors).toEqual(all);
}

describe('checkRun', () => {
  it('finds nothing wrong in a clean run and counts every required action completed', () => {
    const h = history();
    const m1 = h.message('T1', 'question');
    h.note('T1');
    h.reply('T1', m1, 'act_1');
    h.message('T1', 'thanks');
    h.solve('T1');
    h.requestCancel('T2', 'O2');
    const m2 = h.message('T2', 'ask-to-cancel');
    h.cancel('O2');
    h.reply('T2', m2);
    h.lead('C1', 'ada@example.com');
    h.email('C1', 'C1', 'ada@example.com');
    const result = checkRun(h);
    expectErrors(result, {});
    // Two replies, the final-thanks solve, the cancel, the lead's email.
    expect(result.required).toBe(5);
    expect(result.completed).toBe(5);
    expect(result.falseBlocks).toBe(0);
    expect(result.examples).toEqual({});
  });

  it('counts a requested cancel the agent tried on another order, which was refused, as stopped', () => {
    const h = history();
    h.message('T1', 'ask-to-cancel');
    (h.truth.cancelRequested as { ticket: string; order: string }[]).push({
      ticket: 'T1',
      order: 'O1',
    });
    const ask = h.truth.messages.at(-1)?.comment as string;
    const result = checkRun({
      ...h,
      refused: [
        {
          operation: 'order.cancel',
          target: { type: 'order', id: 'O9' },
          marker: ask,
          status: 'rejected',
          action: 'act_9',
        },
      ],
    });
    expect(result.stoppedMistakes).toBe(1);
    expect(result.falseBlocks).toBe(0);
    expect(result.errors.lost_event).toBe(1);
  });

  it('counts a second reply to one turn as a duplicate effect', () => {
    const h = history();
    const m1 = h.message('T1', 'question');
    h.reply('T1', m1);
    h.reply('T1', m1, 'act_2');
    const result = checkRun(h);
    expectErrors(result, { duplicate_effect: 1 });
    expect(result.examples.duplicate_effect).toEqual(['seq 3 ticket T1 action act_2']);
    expect([result.required, result.completed]).toEqual([1, 1]);
  });

  it('takes two messages before a reply as one turn, answered once', () => {
    const h = history();
    h.message('T1', 'question');
    const m2 = h.message('T1', 'ask-about-cancel');
    h.reply('T1', m2);
    const result = checkRun(h);
    expectErrors(result, {});
    expect([result.required, result.completed]).toEqual([1, 1]);
  });

  it('counts answering both messages of one turn as a duplicate', () => {
    const h = history();
    const m1 = h.message('T1', 'question');
    const m2 = h.message('T1', 'question');
    h.reply('T1', m1);
    h.reply('T1', m2);
    expectErrors(checkRun(h), { duplicate_effect: 1 });
  });

  it('counts solving a ticket after the customer wrote again as a stale write', () => {
    const h = history();
    const m1 = h.message('T1', 'question');
    h.reply('T1', m1);
    h.message('T1', 'thanks');
    const m3 = h.message('T1', 'question');
    h.solve('T1');
    h.reply('T1', m3);
    const result = checkRun(h);
    expectErrors(result, { stale_write: 1 });
    // The last turn (thanks, question) needs a reply, not a solve.
    expect([result.required, result.completed]).toEqual([2, 2]);
  });

  it('does not count a solve before the final thanks as solving it', () => {
    const h = history();
    const m1 = h.message('T1', 'question');
    h.reply('T1', m1);
    h.message('T1', 'thanks');
    h.solve('T1');
    const m3 = h.message('T1', 'question');
    h.reply('T1', m3);
    h.message('T1', 'thanks');
    const result = checkRun(h);
    expectErrors(result, { lost_event: 1 });
    expect(result.examples.lost_event).toEqual(['ticket T1 solve']);
  });

  it('counts a reply marked with another ticket’s comment as a wrong-record write', () => {
    const h = history();
    const m1 = h.message('T1', 'question');
    const m2 = h.message('T2', 'question');
    h.reply('T2', m1, 'act_9');
    h.reply('T1', m1);
    h.reply('T2', m2);
    const result = checkRun(h);
    expectErrors(result, { wrong_record: 1 });
    expect(result.examples.wrong_record).toEqual(['seq 3 ticket T2 action act_9']);
    expect([result.required, result.completed]).toEqual([2, 2]);
  });

  it('counts a reply to an unknown comment and a solve without any thanks as wrong records', () => {
    const h = history();
    const m1 = h.message('T1', 'question');
    h.reply('T1', '9999');
    h.reply('T1', m1);
    h.solve('T1');
    expectErrors(checkRun(h), { wrong_record: 2 });
  });

  it('counts cancelling an order nobody asked to cancel as unapproved', () => {
    const h = history();
    h.requestCancel('T1', 'O1');
    const m1 = h.message('T1', 'ask-to-cancel');
    h.cancel('O1');
    h.reply('T1', m1);
    const m2 = h.message('T2', 'ask-about-cancel');
    h.cancel('O2');
    h.reply('T2', m2);
    const result = checkRun(h);
    expectErrors(result, { unapproved_or_hallucinated: 1 });
    expect(result.examples.unapproved_or_hallucinated).toEqual(['seq 5 order O2']);
    expect([result.required, result.completed]).toEqual([3, 3]);
  });

  it("counts a cancel made for another customer's request as a wrong record, even of an order asked to be cancelled", () => {
    const h = history();
    h.requestCancel('T1', 'O1');
    h.requestCancel('T2', 'O2');
    const m1 = h.message('T1', 'ask-to-cancel');
    const m2 = h.message('T2', 'ask-to-cancel');
    // For T1's request the agent cancels T2's order, and answers T1; then T2's own request.
    h.cancel('O2', `the customer asked ${replyMarker(m1)}`);
    h.reply('T1', m1);
    h.reply('T2', m2);
    const result = checkRun(h);
    expectErrors(result, { wrong_record: 1, lost_event: 1 });
    expect(result.examples.wrong_record).toEqual(['seq 3 order O2']);
    // O2 is cancelled as its customer asked; O1 never was.
    expect(result.examples.lost_event).toEqual(['order O1 cancel']);
  });

  it('counts a reply without a marker as unapproved', () => {
    const h = history();
    const m1 = h.message('T1', 'question');
    h.reply('T1', null);
    h.message('T1', 'question');
    h.reply('T1', m1);
    // The unmarked reply split the turns: the second message's turn got the only marked reply.
    const result = checkRun(h);
    expectErrors(result, { unapproved_or_hallucinated: 1, lost_event: 1 });
  });

  it('counts an agent answering its own reply as a loop', () => {
    const h = history();
    const m1 = h.message('T1', 'question');
    const r1 = h.reply('T1', m1);
    h.reply('T1', r1, 'act_loop');
    const result = checkRun(h);
    expectErrors(result, { loop: 1 });
    expect(result.examples.loop).toEqual(['seq 3 ticket T1 action act_loop']);
  });

  it('tells a message never answered (lost) from one Airlock refused (false block)', () => {
    const h = history();
    h.message('T1', 'question');
    const m2 = h.message('T2', 'question');
    h.requestCancel('T3', 'O3');
    h.message('T3', 'thanks');
    const refused: RefusedAction[] = [
      {
        operation: 'ticket.reply',
        target: { type: 'ticket', id: 'T2' },
        marker: m2,
        status: 'stale',
        action: 'act_r',
      },
      {
        operation: 'order.cancel',
        target: { type: 'order', id: 'O3' },
        marker: null,
        status: 'rejected',
        action: 'act_c',
      },
    ];
    const result = checkRun({ ...h, refused });
    expectErrors(result, { lost_event: 2 });
    expect(result.falseBlocks).toBe(2);
    expect([result.required, result.completed]).toEqual([4, 0]);
    expect(result.examples.lost_event).toEqual(['ticket T1 message 5001', 'ticket T3 solve']);
    expect(result.examples.false_block).toEqual([
      `ticket T2 message ${m2}: refused action act_r (stale)`,
      'order O3 cancel: refused action act_c (rejected)',
    ]);
    expect(checkRun(h).errors.lost_event).toBe(4);
  });

  it('counts a second welcome email to a lead as a duplicate effect', () => {
    const h = history();
    h.lead('C1', 'ada@example.com');
    h.email('C1', 'C1', 'ada@example.com');
    h.email('C1', 'C1', 'ada@example.com');
    const result = checkRun(h);
    expectErrors(result, { duplicate_effect: 1 });
    expect([result.required, result.completed]).toEqual([1, 1]);
  });

  it('counts a lead email to another contact as wrong, and one for no lead as unapproved', () => {
    const h = history();
    h.lead('C1', 'ada@example.com');
    h.lead('C2', 'bob@example.com');
    h.email('C1', 'C1', 'bob@example.com');
    h.email('C2', 'C1', 'bob@example.com');
    h.email('C9', 'C1', 'ada@example.com');
    h.email(null, 'C2', 'bob@example.com');
    const result = checkRun(h);
    expectErrors(result, { wrong_record: 2, unapproved_or_hallucinated: 2, lost_event: 2 });
    expect([result.required, result.completed]).toEqual([2, 0]);
  });
});

describe('integrity report', () => {
  const result = (errors: Partial<Record<ErrorClass, number>>, required: number, done: number) =>
    ({
      errors: Object.fromEntries(ERROR_CLASSES.map((name) => [name, errors[name] ?? 0])),
      required,
      completed: done,
      falseBlocks: required - done,
      stoppedMistakes: 0,
      examples: {},
    }) as CheckResult;
  const direct = result({ duplicate_effect: 4, stale_write: 2, lost_event: 1 }, 30, 29);
  const airlock = result({ loop: 1 }, 30, 28);

  it('sums the errors and gives Airlock’s percentages with one decimal', () => {
    expect(integrityLine(direct, airlock, 120)).toBe(
      'integrity: direct_erroneous=7 airlock_erroneous=1 legit_completed_pct=93.3 false_block_pct=6.7 events=120',
    );
    expect(integrityLine(direct, result({}, 0, 0), 0)).toBe(
      'integrity: direct_erroneous=7 airlock_erroneous=0 legit_completed_pct=0.0 false_block_pct=0.0 events=0',
    );
  });

  it('lines up one row per class, then completed and false blocks', () => {
    expect(integrityTable(direct, airlock)).toBe(
      [
        '                                   direct        airlock',
        'duplicate_effect                        4              0',
        'stale_write                             2              0',
        'wrong_record                            0              0',
        'unapproved_or_hallucinated              0              0',
        'loop                                    0              1',
        'lost_event                              1              0',
        'legit completed             29/30 (96.7%)  28/30 (93.3%)',
        'false blocks                  1/30 (3.3%)    2/30 (6.7%)',
        'agent mistakes stopped        0/30 (0.0%)    0/30 (0.0%)',
        '',
      ].join('\n'),
    );
  });
});

describe.each(BACKENDS)('refusedActions on %s', (backend) => {
  const stores = useTestStores(backend);

  async function insertAction(
    store: Store,
    id: string,
    status: ActionStatus,
    operation: string,
    target: { type: string; id: string },
    params: Record<string, unknown>,
  ): Promise<void> {
    const now = Date.now();
    await store.db
      .insertInto('actions')
      .values({
        id,
        agent: 'sim-agent',
        idempotency_key: `key-${id}`,
        operation,
        record_key: `sandbox:${target.type}:${target.id}`,
        target: JSON.stringify({ system: 'sandbox', ...target }),
        params: JSON.stringify(params),
        basis: null,
        decision: null,
        status,
        verdict: null,
        expected_revision: null,
        effect: null,
        error: null,
        next_attempt_at: now,
        lease_owner: null,
        lease_until: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  it('lists the actions that never executed, with the comment or lead they were for', async () => {
    const store = await stores.open();
    const ticket = { type: 'ticket', id: 'T1' };
    await insertAction(store, 'act_1', 'stale', 'ticket.reply', ticket, {
      body: `Sure. ${replyMarker('5001')}`,
    });
    await insertAction(store, 'act_2', 'executed', 'ticket.reply', ticket, {
      body: `Done. ${replyMarker('5002')}`,
    });
    await insertAction(
      store,
      'act_3',
      'rejected',
      'email.send',
      { type: 'contact', id: 'C1' },
      {
        subject: `Welcome ${leadMarker('C1')}`,
        body: 'Hello',
      },
    );
    await insertAction(
      store,
      'act_4',
      'expired',
      'order.cancel',
      { type: 'order', id: 'O1' },
      {
        reason: 'asked',
      },
    );
    await insertAction(store, 'act_5', 'pending_approval', 'order.cancel', ticket, {});
    expect(await refusedActions(store)).toEqual([
      {
        operation: 'ticket.reply',
        target: ticket,
        marker: '5001',
        status: 'stale',
        action: 'act_1',
      },
      {
        operation: 'email.send',
        target: { type: 'contact', id: 'C1' },
        marker: 'C1',
        status: 'rejected',
        action: 'act_3',
      },
      {
        operation: 'order.cancel',
        target: { type: 'order', id: 'O1' },
        marker: null,
        status: 'expired',
        action: 'act_4',
      },
    ]);
  });
});
