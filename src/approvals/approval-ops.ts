import type { Kysely } from 'kysely';
import { releaseRateLimitSlots } from '../actions/rate-limits.js';
import { appendAudits } from '../audit/index.js';
import type { ActionStatus, ApprovalStatus, Database, Dialect } from '../store/index.js';

/** How a decision ends an approval, and what it does to the action waiting for it. */
export interface ApprovalSettlement {
  readonly id: string;
  readonly to: Exclude<ApprovalStatus, 'pending'>;
  readonly now: number;
  readonly decidedBy: string | null;
  readonly comment: string | null;
  /** JSON-able: for `stale`, what changed. */
  readonly outcome: Record<string, unknown> | null;
  /** `queued` to execute it; any other status ends it unexecuted, with `error`. */
  readonly action: { readonly status: ActionStatus; readonly error: unknown };
  readonly dialect: Dialect;
}

export type SettleResult =
  | { readonly kind: 'settled' }
  /** Decided already (or expired): the status it has. */
  | { readonly kind: 'taken'; readonly status: ApprovalStatus | null };

/**
 * Ends a pending approval and moves its action on, in one transaction. A compare-and-set on
 * `status = 'pending'`: of an approve and a reject racing, exactly one settles and the other is
 * `taken`. A decision needs the approval not to have run out; an expiry needs it to have.
 */
export async function settleApproval(
  db: Kysely<Database>,
  args: ApprovalSettlement,
): Promise<SettleResult> {
  const updated = await db
    .updateTable('approvals')
    .set({
      status: args.to,
      decided_by: args.decidedBy,
      decided_at: args.now,
      comment: args.comment,
      outcome: args.outcome ? JSON.stringify(args.outcome) : null,
    })
    .where('id', '=', args.id)
    .where('status', '=', 'pending')
    .where('expires_at', args.to === 'expired' ? '<=' : '>', args.now)
    .returning('action_id')
    .executeTakeFirst();
  if (!updated) {
    const row = await db
      .selectFrom('approvals')
      .select(['status', 'expires_at'])
      .where('id', '=', args.id)
      .executeTakeFirst();
    // Run out but not swept yet: it is expired, whatever the sweeper has done so far.
    const status =
      row?.status === 'pending' && row.expires_at <= args.now ? 'expired' : row?.status;
    return { kind: 'taken', status: status ?? null };
  }
  const executes = args.action.status === 'queued';
  await db
    .updateTable('actions')
    .set({
      status: args.action.status,
      next_attempt_at: args.now,
      updated_at: args.now,
      error: args.action.error === null ? null : JSON.stringify(args.action.error),
    })
    .where('id', '=', updated.action_id)
    .where('status', '=', 'pending_approval')
    .execute();
  // Never executed: its rate-limit slots are free again.
  if (!executes) await releaseRateLimitSlots(db, updated.action_id);
  const decision = { by: args.decidedBy, comment: args.comment };
  await appendAudits(
    db,
    [
      {
        kind: 'approval',
        subject: args.id,
        change: args.to,
        at: args.now,
        data: { action: updated.action_id, ...decision, outcome: args.outcome },
      },
      {
        kind: 'action',
        subject: updated.action_id,
        change: args.action.status,
        at: args.now,
        data: { approval: args.id, error: args.action.error },
      },
    ],
    args.dialect,
  );
  return { kind: 'settled' };
}

/**
 * Ends one pending approval that ran out by `now` as `expired`, with its action. One per
 * transaction: on PostgreSQL a transaction holding the audit chain's lock while it waits for
 * the next approval's row could deadlock with a decision on that approval.
 */
export async function expireApproval(
  db: Kysely<Database>,
  args: { id: string; now: number; dialect: Dialect },
): Promise<SettleResult> {
  return settleApproval(db, {
    id: args.id,
    to: 'expired',
    now: args.now,
    decidedBy: null,
    comment: null,
    outcome: null,
    action: {
      status: 'expired',
      error: { code: 'approval-expired', message: 'no one decided the approval in time' },
    },
    dialect: args.dialect,
  });
}
