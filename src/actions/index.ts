export { ACTION_OPS_MODULE, type ActionOps, actionOps } from './action-ops.js';
export {
  type ActionPage,
  getAction,
  type ListActionsQuery,
  type ListedAction,
  listActions,
} from './action-queries.js';
export { ACTION_STATUSES, type ActionRow, type ActionView } from './action-view.js';
export { ActionWorker, type ActionWorkerOptions } from './action-worker.js';
export {
  type CatalogueLimits,
  catalogue,
  OPERATION_NAMES,
  type OperationSpec,
  type Risk,
} from './catalogue.js';
export { CircuitBreakers } from './circuit-breaker.js';
export { actionLogFields, type ExecuteDeps } from './execute-action.js';
export { type RetryRequest, retryAction } from './outbox.js';
export {
  type DryRunView,
  type ProposalAnswer,
  type ProposeDeps,
  proposeAction,
} from './propose-action.js';
export { type RateLimitRule, rateLimitRules } from './rate-limits.js';
export { UNDO_AGENT, undoAction } from './undo-action.js';
