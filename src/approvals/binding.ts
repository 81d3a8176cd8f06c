import type { Kysely } from 'kysely';
import type { ActionRow } from '../actions/action-view.js';
import { canonicalDigest } from '../canonical-json.js';
import { AppError } from '../errors.js';
import { approvalIdOf } from '../ids.js';
import type { ApprovalTable, Database } from '../store/index.js';

type ApprovalBinding = Pick<
  ApprovalTable,
  'operation' | 'target' | 'params_digest' | 'basis_revision'
>;

/**
 * Whether the action is exactly what was approved: the operation, the target, the params (by
 * digest) and the revision the proposal was checked on. Anything else cannot ride on it.
 */
export function approvalBinds(approval: ApprovalBinding, action: ActionRow): boolean {
  return (
    approval.operation === action.operation &&
    approval.target === action.target &&
    approval.params_digest === canonicalDigest(JSON.parse(action.params)) &&
    approval.basis_revision === action.expected_revision
  );
}

/**
 * Before an action that needed a human is executed: its approval must be `approved` and bind
 * the action as it is now. Throws `approval-not-held` (409) otherwise.
 */
export async function checkApproved(db: Kysely<Database>, action: ActionRow): Promise<void> {
  const approval = await db
    .selectFrom('approvals')
    .selectAll()
    .where('id', '=', approvalIdOf(action.id))
    .executeTakeFirst();
  if (approval?.status === 'approved' && approvalBinds(approval, action)) return;
  throw new AppError(
    'approval-not-held',
    409,
    approval?.status === 'approved'
      ? `action ${action.id} is not what approval ${approval.id} approved`
      : `action ${action.id} has no approval that lets it run`,
    { details: { action: action.id, approval: approval?.id ?? null, status: approval?.status } },
  );
}
