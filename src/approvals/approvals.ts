import type { Selectable } from 'kysely';
import type { ActionOps } from '../actions/action-ops.js';
import type { ActionRow } from '../actions/action-view.js';
import { checkActionAgain, connectorFor, type RecheckDeps } from '../actions/checks.js';
import type { Connector } from '../connectors/connector.js';
import { AppError } from '../errors.js';
import type { ActionOutcome, Metrics } from '../metrics/index.js';
import { checkPageCursor } from '../page-limit.js';
import type { ApprovalStatus, ApprovalTable } from '../store/index.js';
import type { ApprovalSettlement } from './approval-ops.js';
import { approvalBinds } from './binding.js';
import { type FieldChange, fieldChanges } from './field-changes.js';

export const APPROVAL_STATUSES: readonly ApprovalStatus[] = [
  'pending',
  'approved',
  'rejected',
  'expired',
  'stale',
];

/** An approval as operators see it. */
export interface ApprovalView {
  readonly approval: string;
  readonly action: string;
  readonly status: ApprovalStatus;
  readonly agent: string;
  readonly operation: string;
  readonly target: unknown;
  readonly paramsDigest: string;
  readonly basisRevision: string | null;
  readonly policyVersion: string;
  readonly reason: string;
  readonly expiresAt: string;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly comment: string | null;
  readonly outcome: unknown;
  readonly createdAt: string;
}

type ApprovalRow = Selectable<ApprovalTable>;

function toApprovalView(row: ApprovalRow): ApprovalView {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    approval: row.id,
    action: row.action_id,
    status: row.status,
    agent: row.agent,
    operation: row.operation,
    target: JSON.parse(row.target),
    paramsDigest: row.params_digest,
    basisRevision: row.basis_revision,
    policyVersion: row.policy_version,
    reason: row.reason,
    expiresAt: new Date(row.expires_at).toISOString(),
    decidedBy: row.decided_by,
    decidedAt: iso(row.decided_at),
    comment: row.comment,
    outcome: row.outcome === null ? null : JSON.parse(row.outcome),
    createdAt: new Date(row.created_at).toISOString(),
  };
}

export interface ApprovalDeps extends RecheckDeps {
  readonly ops: ActionOps;
  readonly metrics?: Metrics | undefined;
  readonly connectors: ReadonlyMap<string, Connector>;
  /** Told when an approved action is queued, to run it now (the gateway's worker). */
  readonly onQueued?: () => void;
  /** Told when a decision ended an action unexecuted (rejected, stale, denied). */
  readonly onActionEnded?: (actionId: string) => void;
}

/** One approval; throws `approval-not-found` (404). */
export async function getApproval(deps: Pick<RecheckDeps, 'store'>, id: string) {
  return toApprovalView(await approvalRow(deps, id));
}

/**
 * Approvals with `status` (all when none), oldest first (`newestFirst`: newest first), after
 * `cursor` (an approval id) in that order.
 */
export async function listApprovals(
  deps: Pick<RecheckDeps, 'store'>,
  options: {
    status?: ApprovalStatus | undefined;
    limit: number;
    cursor?: string | undefined;
    newestFirst?: boolean;
  },
): Promise<{ approvals: ApprovalView[]; next: string | null }> {
  checkPageCursor(options.cursor, 'apr');
  const newest = options.newestFirst === true;
  let query = deps.store.db
    .selectFrom('approvals')
    .selectAll()
    .orderBy('id', newest ? 'desc' : 'asc')
    .limit(options.limit);
  if (options.status) query = query.where('status', '=', options.status);
  if (options.cursor) query = query.where('id', newest ? '<' : '>', options.cursor);
  const rows = await query.execute();
  const last = rows.at(-1);
  return {
    approvals: rows.map(toApprovalView),
    next: rows.length === options.limit && last ? last.id : null,
  };
}

/** Who decides, and why. */
export interface Decision {
  readonly by: string;
  readonly comment?: string | undefined;
}

/** Rejects a pending approval: its action ends `rejected`, never executed. */
export async function rejectApproval(
  deps: ApprovalDeps,
  id: string,
  decision: Decision,
): Promise<ApprovalView> {
  const approval = await pendingApproval(deps, id);
  await settle(deps, approval, {
    to: 'rejected',
    outcome: null,
    action: {
      status: 'rejected',
      error: {
        code: 'approval-rejected',
        message: `rejected by ${decision.by}${decision.comment ? `: ${decision.comment}` : ''}`,
      },
    },
    decision,
  });
  return getApproval(deps, id);
}

/**
 * Approves a pending approval. First the action must still be what was approved, and the checks
 * run again on the record as it is now: when the record moved on from the revision the proposal
 * was checked on, or policy now denies, the approval ends `stale` (409 `approval-stale`, with what
 * changed) and nothing is executed. Otherwise its action is queued for execution.
 */
export async function approveApproval(
  deps: ApprovalDeps,
  id: string,
  decision: Decision,
): Promise<ApprovalView> {
  const approval = await pendingApproval(deps, id);
  const action = await deps.store.db
    .selectFrom('actions')
    .selectAll()
    .where('id', '=', approval.action_id)
    .executeTakeFirstOrThrow();
  if (!approvalBinds(approval, action)) {
    throw new AppError(
      'approval-mismatch',
      409,
      `action ${action.id} is no longer what approval ${id} was asked for; nothing is executed`,
      { details: { approval: id, action: action.id } },
    );
  }
  const refusal = await checkNow(deps, action);
  if (refusal) {
    const { code, message } = refusal;
    const details = { ...refusal.details, ...changesSinceRequest(approval, refusal.details) };
    await settle(deps, approval, {
      to: 'stale',
      outcome: { code, message, ...details },
      action: {
        status: code === 'stale-basis' ? 'stale' : 'denied',
        error: { code, status: refusal.status, message, ...details },
      },
      decision,
    });
    throw new AppError('approval-stale', 409, `approval ${id} is stale: ${message}`, {
      details: { approval: id, action: action.id, because: code, ...details },
    });
  }
  await settle(deps, approval, {
    to: 'approved',
    outcome: null,
    action: { status: 'queued', error: null },
    decision,
  });
  deps.onQueued?.();
  return getApproval(deps, id);
}

/**
 * For a refusal that carries the record as it is now (`stale-basis`): each field that changed
 * since the approval was asked for, with its value then and now. Nothing for an approval of
 * before the record was kept with it, or of a create.
 */
function changesSinceRequest(
  approval: ApprovalRow,
  details: Readonly<Record<string, unknown>>,
): { changed?: FieldChange[] } {
  const current = details.current;
  if (approval.record_fields === null || current === null || typeof current !== 'object') return {};
  return {
    changed: fieldChanges(
      JSON.parse(approval.record_fields) as Record<string, unknown>,
      current as Record<string, unknown>,
    ),
  };
}

/** The checks again; the refusal when the record moved on or policy now denies, else null. */
async function checkNow(deps: ApprovalDeps, action: ActionRow): Promise<AppError | null> {
  const target = JSON.parse(action.target) as { system: string };
  try {
    await checkActionAgain(deps, action, connectorFor(deps.connectors, target.system));
    return null;
  } catch (error) {
    if (
      error instanceof AppError &&
      (error.code === 'stale-basis' || error.code === 'policy-denied')
    )
      return error;
    // The record could not be read: the approval stays pending, to be decided again.
    throw error;
  }
}

async function settle(
  deps: ApprovalDeps,
  approval: ApprovalRow,
  ending: Pick<ApprovalSettlement, 'to' | 'outcome' | 'action'> & { decision: Decision },
): Promise<void> {
  const result = await deps.ops.run('settleApproval', {
    id: approval.id,
    to: ending.to,
    now: deps.now(),
    decidedBy: ending.decision.by,
    comment: ending.decision.comment ?? null,
    outcome: ending.outcome,
    action: ending.action,
    dialect: deps.store.dialect,
  });
  if (result.kind === 'taken') throw decided(approval.id, result.status);
  deps.metrics?.approvalOutcome(ending.to);
  if (ending.action.status !== 'queued') {
    deps.metrics?.actionOutcome(approval.operation, ending.action.status as ActionOutcome);
  }
  if (ending.to === 'stale') deps.metrics?.writePrevented('stale');
  if (ending.action.status !== 'queued') deps.onActionEnded?.(approval.action_id);
}

async function approvalRow(deps: Pick<RecheckDeps, 'store'>, id: string): Promise<ApprovalRow> {
  const row = await deps.store.db
    .selectFrom('approvals')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row)
    throw new AppError('approval-not-found', 404, `no approval ${id}`, {
      details: { approval: id },
    });
  return row;
}

/** The approval, when it can still be decided; 409 `approval-decided` otherwise. */
async function pendingApproval(deps: ApprovalDeps, id: string): Promise<ApprovalRow> {
  const row = await approvalRow(deps, id);
  const status = row.status === 'pending' && row.expires_at <= deps.now() ? 'expired' : row.status;
  if (status !== 'pending') throw decided(id, status);
  return row;
}

function decided(id: string, status: ApprovalStatus | null): AppError {
  return new AppError('approval-decided', 409, `approval ${id} is ${status ?? 'gone'}`, {
    details: { approval: id, approvalStatus: status },
  });
}
