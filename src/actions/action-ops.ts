import { expireApproval, settleApproval } from '../approvals/approval-ops.js';
import type { OpRunner } from '../store/op-runner.js';
import { answerKey, completeKey, releaseKey } from './idempotency.js';
import { acceptAction, claimDueActions, retryAction, updateLeasedAction } from './outbox.js';

/** Every write of the action pipeline, approvals included, as store ops (store/op-runner.ts). */
export const actionOps = {
  answerKey,
  completeKey,
  releaseKey,
  acceptAction,
  claimDueActions,
  updateLeasedAction,
  retryAction,
  settleApproval,
  expireApproval,
};

/** Where a writer thread finds `actionOps`. */
export const ACTION_OPS_MODULE = {
  module: new URL('./action-ops.js', import.meta.url),
  name: 'actionOps',
};

export type ActionOps = OpRunner<typeof actionOps>;
