import { randomUUID } from 'node:crypto';
import { type ExpressionBuilder, type Kysely, sql, type Updateable } from 'kysely';
import { type AuditEntry, appendAudit, appendAudits } from '../audit/index.js';
import type { RecordRef } from '../connectors/connector.js';
import { AppError } from '../errors.js';
import { approvalIdOf, firstIdAt } from '../ids.js';
import { type ActionTable, type Database, type Dialect, preparedQuery } from '../store/index.js';
import { type ActionRow, type ActionView, toActionView } from './action-view.js';
import {
  actionOfKey,
  claimKey,
  completeKey,
  type KeyAnswer,
  type KeyClaim,
  type KeyRef,
  keyNamedAction,
} from './idempotency.js';
import { type RateLimitRule, releaseRateLimitSlots, takeRateLimitSlots } from './rate-limits.js';

// The actions table is the outbox: a row is committed before anything is sent, and a worker
// holding its lease is the only one that may send it. These are its writes, as store ops.

/**
 * How far apart the clocks of gateway instances may be. Freshness compares this instance's
 * read time with times other instances wrote; a change stamped up to this much before the read
 * still counts as after it, so the record is read again rather than a stale read trusted.
 */
const CLOCK_SKEW_MS = 250;

/** What a proposal asks `acceptAction` for. */
export interface Acceptance {
  /** The idempotency key, taken in the commit that accepts the action (see `claimKey`). */
  readonly ref: KeyRef;
  readonly fingerprint: string;
  readonly lockMs: number;
  /** The row as proposed (status `queued` or `pending_approval`). */
  readonly action: ActionRow;
  readonly target: RecordRef;
  readonly rateLimits: readonly RateLimitRule[];
  /** For an action that waits for a human: the approval it waits for, inserted with it. */
  readonly approval: {
    readonly paramsDigest: string;
    readonly policyVersion: string;
    readonly reason: string;
    readonly expiresAt: number;
    /** The record's fields as the proposal read them (null for a create): shown beside now. */
    readonly recordFields: Readonly<Record<string, unknown>> | null;
  } | null;
  /**
   * Set to execute at once: when no other action of the record is queued or executing, the
   * action is committed as `executing` (attempt 1) under this lease, so the proposing request
   * can call the connector itself. `readAt`: when the proposal's read of the record began.
   */
  readonly lease: {
    readonly owner: string;
    readonly until: number;
    readonly readAt: number;
  } | null;
  readonly dialect: Dialect;
}

export type Accepted =
  /** Another request holds the key, or held it: nothing was accepted. */
  | { readonly kind: 'taken'; readonly claim: Exclude<KeyClaim, { kind: 'claimed' }> }
  | {
      readonly kind: 'accepted';
      /** Committed as `executing` under the lease asked for (see `acceptedRow`). */
      readonly leased: boolean;
      /**
       * Leased, and nothing known touched the record since the proposal read it: no action of
       * it settled and no event about it arrived. That read may stand for the one before writing.
       */
      readonly fresh: boolean;
    };

/**
 * Orders the transactions that change which actions of a record are open (accepts, retries):
 * on PostgreSQL a transaction-scoped lock on the record key, across instances; on SQLite the
 * single writer does it already.
 */
export async function lockRecord(
  db: Kysely<Database>,
  recordKey: string,
  dialect: Dialect,
): Promise<void> {
  if (dialect === 'postgres') {
    await sql`select pg_advisory_xact_lock(hashtext(${recordKey}))`.execute(db);
  }
}

/**
 * Accepts an action: claims its idempotency key for it, inserts it, takes its rate-limit slots
 * (throws `policy-denied` when one is full, and nothing is kept). On PostgreSQL a lock on the
 * record key orders concurrent accepts of one record, as SQLite's single writer does.
 *
 * Throws `idempotency-key-reuse` (422) for a key whose record was pruned while an action it
 * named is kept (`keyNamedAction`).
 */
export async function acceptAction(db: Kysely<Database>, args: Acceptance): Promise<Accepted> {
  const { action, target, lease } = args;
  await lockRecord(db, action.record_key, args.dialect);
  const earlier = await actionOfKey(db, args.ref);
  if (earlier?.id === action.id) {
    // Accepted already by this very call, whose answer was lost (a writer thread that died
    // after its commit): the action stands as committed.
    const leased = earlier.status === 'executing' && earlier.lease_owner === lease?.owner;
    return { kind: 'accepted', leased, fresh: false };
  }
  const claim = await claimKey(db, {
    ref: args.ref,
    fingerprint: args.fingerprint,
    now: action.created_at,
    lockMs: args.lockMs,
    actionId: action.id,
  });
  if (claim.kind !== 'claimed') return { kind: 'taken', claim };
  if (earlier) throw keyNamedAction(args.ref, earlier);
  let leased = false;
  let fresh = false;
  if (lease) {
    const recordKey = action.record_key;
    leased = (await openActionOf(db, { recordKey })).rows.length === 0;
    if (leased) {
      const since = lease.readAt - CLOCK_SKEW_MS;
      const settled = await actionSettledSince(db, { recordKey, since });
      const event = await eventSince(db, { ...target, firstId: firstIdAt('evt', since) });
      fresh = settled.rows.length === 0 && event.rows.length === 0;
    }
  }
  await insertAction(db, acceptedRow(args, leased));
  if (args.approval) {
    await db
      .insertInto('approvals')
      .values({
        id: approvalIdOf(action.id),
        action_id: action.id,
        agent: action.agent,
        operation: action.operation,
        target: action.target,
        params_digest: args.approval.paramsDigest,
        basis_revision: action.expected_revision,
        policy_version: args.approval.policyVersion,
        reason: args.approval.reason,
        status: 'pending',
        expires_at: args.approval.expiresAt,
        decided_by: null,
        decided_at: null,
        comment: null,
        outcome: null,
        created_at: action.created_at,
        record_fields:
          args.approval.recordFields === null ? null : JSON.stringify(args.approval.recordFields),
      })
      .execute();
  }
  await takeRateLimitSlots(
    db,
    args.rateLimits,
    {
      id: action.id,
      operation: action.operation,
      agent: action.agent,
      recordKey: action.record_key,
    },
    action.created_at,
  );
  await appendAudits(db, acceptanceAudit(args, leased), args.dialect);
  return { kind: 'accepted', leased, fresh };
}

const openActionOf = preparedQuery((db, v: { recordKey: string }) =>
  db
    .selectFrom('actions')
    .select('id')
    .where('record_key', '=', v.recordKey)
    .where('status', 'in', ['queued', 'executing'])
    .limit(1),
);

const actionSettledSince = preparedQuery((db, v: { recordKey: string; since: number }) =>
  db
    .selectFrom('actions')
    .select('id')
    .where('record_key', '=', v.recordKey)
    .where('updated_at', '>=', v.since)
    .limit(1),
);

const eventSince = preparedQuery((db, v: RecordRef & { firstId: string }) =>
  db
    .selectFrom('events')
    .select('id')
    .where('record_system', '=', v.system)
    .where('record_type', '=', v.type)
    .where('record_id', '=', v.id)
    .where('id', '>=', v.firstId)
    .limit(1),
);

const insertAction = preparedQuery((db, row: ActionRow) => db.insertInto('actions').values(row));

/** What accepting records in the audit log: the proposal, its approval, its first attempt. */
function acceptanceAudit(args: Acceptance, leased: boolean): AuditEntry[] {
  const { action } = args;
  const at = action.created_at;
  const parse = (text: string | null) => (text === null ? null : JSON.parse(text));
  const entries: AuditEntry[] = [
    {
      kind: 'action',
      subject: action.id,
      change: action.status === 'pending_approval' ? 'pending_approval' : 'accepted',
      at,
      data: {
        agent: action.agent,
        idempotencyKey: action.idempotency_key,
        operation: action.operation,
        target: parse(action.target),
        params: parse(action.params),
        basis: parse(action.basis),
        decision: parse(action.decision),
        verdict: parse(action.verdict),
        expectedRevision: action.expected_revision,
      },
    },
  ];
  if (args.approval) {
    // The record's fields stay out of the audit log: it is kept for ever, the approval is not.
    const { recordFields: _, ...approval } = args.approval;
    entries.push({
      kind: 'approval',
      subject: approvalIdOf(action.id),
      change: 'requested',
      at,
      data: { action: action.id, ...approval },
    });
  }
  if (leased) {
    entries.push({
      kind: 'execution',
      subject: action.id,
      change: 'started',
      at,
      data: { attempt: 1 },
    });
  }
  return entries;
}

/** The row `acceptAction` commits: as proposed, or `executing` (attempt 1) under the lease. */
export function acceptedRow(
  acceptance: Pick<Acceptance, 'action' | 'lease'>,
  leased: boolean,
): ActionRow {
  const { action, lease } = acceptance;
  if (!leased || !lease) return action;
  return {
    ...action,
    status: 'executing',
    attempts: 1,
    lease_owner: lease.owner,
    lease_until: lease.until,
    // The request sends it right after this commit.
    sent_at: action.created_at,
  };
}

/**
 * Claims up to `limit` due actions, each under a lease token of its own (`owner:uuid`). A
 * record's actions run in the order they were accepted: an action waits while an earlier one
 * of its record is queued or executing, and while any other one of its record is executing.
 */
export async function claimDueActions(
  db: Kysely<Database>,
  args: { now: number; limit: number; leaseMs: number; owner: string },
): Promise<ActionRow[]> {
  const { now } = args;
  const candidates = await db
    .selectFrom('actions as a')
    .select('a.id')
    .where(claimable(now))
    .orderBy('a.next_attempt_at')
    .orderBy('a.id')
    .limit(args.limit)
    .execute();
  const claimed: ActionRow[] = [];
  for (const { id } of candidates) {
    const row = await db
      .updateTable('actions as a')
      .set({ lease_owner: `${args.owner}:${randomUUID()}`, lease_until: now + args.leaseMs })
      .where('a.id', '=', id)
      // Checked again on the row itself: on PostgreSQL the candidates were read by another
      // statement, and meanwhile another worker may have claimed, run and settled one.
      .where(claimable(now))
      .returningAll()
      .executeTakeFirst();
    if (row) claimed.push(row);
  }
  return claimed;
}

/**
 * Whether action `a` may be claimed at `now`: queued or executing, due, its lease (if any) run
 * out, and nothing ahead of it on its record. Ahead of a queued action: any other one executing,
 * and an earlier one queued. Ahead of an executing one (its write may have landed: it must be
 * reconciled before anything else runs on the record): only an earlier one executing. An
 * earlier action queued behind it, as an approval queues its action while a later one executes,
 * waits for it; were it ahead, each would wait for the other for ever.
 */
function claimable(now: number) {
  return (eb: ExpressionBuilder<Database & { a: ActionTable }, 'a'>) =>
    eb.and([
      eb('a.status', 'in', ['queued', 'executing']),
      eb('a.next_attempt_at', '<=', now),
      eb.or([eb('a.lease_until', 'is', null), eb('a.lease_until', '<', now)]),
      eb.not(
        eb.exists(
          eb
            .selectFrom('actions as b')
            .select('b.id')
            .whereRef('b.record_key', '=', 'a.record_key')
            // Implied by the next condition; stated so the (record_key, status) index applies.
            .where('b.status', 'in', ['queued', 'executing'])
            .whereRef('b.id', '!=', 'a.id')
            .where((inner) =>
              inner.or([
                inner.and([
                  inner('b.status', '=', 'executing'),
                  inner.or([
                    inner('a.status', '=', 'queued'),
                    inner('b.id', '<', inner.ref('a.id')),
                  ]),
                ]),
                inner.and([
                  inner('a.status', '=', 'queued'),
                  inner('b.status', '=', 'queued'),
                  inner('b.id', '<', inner.ref('a.id')),
                ]),
              ]),
            ),
        ),
      ),
    ]);
}

const updateLeased = preparedQuery(
  (db, { $id, $owner, ...patch }: Updateable<ActionTable> & { $id: string; $owner: string }) =>
    db.updateTable('actions').set(patch).where('id', '=', $id).where('lease_owner', '=', $owner),
);

/**
 * Changes an action whose lease `owner` still holds; false when another worker holds it now.
 * `releaseSlots` gives its rate-limit slots back (it ended without an effect).
 */
export async function updateLeasedAction(
  db: Kysely<Database>,
  args: {
    id: string;
    owner: string | null;
    patch: Updateable<ActionTable>;
    releaseSlots?: boolean;
    /** The answer its idempotency key keeps from now on, stored in the same commit. */
    complete?: KeyAnswer | undefined;
    /** What the change records in the audit log, in the same commit. */
    audit?: { readonly entries: readonly AuditEntry[]; readonly dialect: Dialect } | undefined;
  },
): Promise<boolean> {
  if (args.owner === null) return false;
  const updated = await updateLeased(db, { ...args.patch, $id: args.id, $owner: args.owner });
  if (Number(updated.numAffectedRows) !== 1) return false;
  if (args.releaseSlots) await releaseRateLimitSlots(db, args.id);
  if (args.complete) await completeKey(db, args.complete);
  if (args.audit && args.audit.entries.length > 0) {
    await appendAudits(db, args.audit.entries, args.audit.dialect);
  }
  return true;
}

/** What `retryAction` is asked. */
export interface RetryRequest {
  readonly id: string;
  readonly now: number;
  /** The configured rate limits: the retry takes the slots it no longer holds again. */
  readonly rateLimits: readonly RateLimitRule[];
  /** Who asked, recorded with the retry: an operator's name, or `cli:<OS user>`. */
  readonly by: string | null;
  readonly dialect: Dialect;
}

/**
 * Puts a failed or dead action back in the queue (`airlock actions retry`). The worker re-reads
 * the record and runs policy again before it executes; a record that moved on since the action's
 * basis is refused as stale. A dead action's last attempt may have been sent, so it goes back as
 * `executing`: the next attempt looks for that write before anything else. Throws
 * `action-not-found`, `not-retryable` (409), `record-busy` (409) while another action of the
 * record is queued or executing, or `policy-denied` (403) when a rate limit it must take a slot
 * of again is full. A store op (`actionOps`).
 */
export async function retryAction(trx: Kysely<Database>, args: RetryRequest): Promise<ActionView> {
  const { id, now, rateLimits, by, dialect } = args;
  const read = () =>
    trx
      .selectFrom('actions')
      .select(['status', 'record_key', 'operation', 'agent', 'sent_at'])
      .where('id', '=', id)
      .executeTakeFirst();
  const found = await read();
  if (!found)
    throw new AppError('action-not-found', 404, `no action ${id}`, { details: { action: id } });
  // Two retries of one record's actions at once both found it free, on two instances.
  await lockRecord(trx, found.record_key, dialect);
  const row = (await read()) ?? found;
  if (row.status !== 'failed' && row.status !== 'dead') {
    throw new AppError(
      'not-retryable',
      409,
      `action ${id} is ${row.status}; only failed or dead actions are retried`,
      { details: { action: id, status: row.status } },
    );
  }
  // Back in line behind one already there, the two would each wait for the other for ever.
  const busy = await trx
    .selectFrom('actions')
    .select('id')
    .where('record_key', '=', row.record_key)
    .where('id', '!=', id)
    .where('status', 'in', ['queued', 'executing'])
    .executeTakeFirst();
  if (busy) {
    throw new AppError(
      'record-busy',
      409,
      `action ${busy.id} of the same record is still under way; retry ${id} when it has ended`,
      { details: { action: id, busy: busy.id } },
    );
  }
  // The slots it gave back when it ended without an effect, or that ran out since, it takes
  // again, or the retry is refused (403 policy-denied) like a new proposal over the limit.
  // One that ran out counts no more: another action may have taken its place meanwhile.
  const held = await trx
    .selectFrom('rate_limit_slots')
    .select('rule')
    .where('action_id', '=', id)
    .where('expires_at', '>', now)
    .execute();
  const holds = new Set(held.map((slot) => slot.rule));
  await takeRateLimitSlots(
    trx,
    rateLimits.filter((rule) => !holds.has(rule.name)),
    { id, operation: row.operation, agent: row.agent, recordKey: row.record_key },
    now,
  );
  const updated = await trx
    .updateTable('actions')
    .set({
      // Dead after a write was sent, it is reconciled first; never sent, it simply runs.
      status: row.status === 'dead' && row.sent_at !== null ? 'executing' : 'queued',
      lease_owner: null,
      lease_until: null,
      next_attempt_at: now,
      attempts: 0,
      updated_at: now,
      error: null,
    })
    .where('id', '=', id)
    .where('status', '=', row.status)
    .returningAll()
    .executeTakeFirstOrThrow();
  await appendAudit(
    trx,
    { kind: 'action', subject: id, change: 'retried', at: now, data: { from: row.status, by } },
    dialect,
  );
  return toActionView(updated);
}
