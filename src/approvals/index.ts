export {
  APPROVAL_STATUSES,
  type ApprovalDeps,
  type ApprovalView,
  approveApproval,
  type Decision,
  getApproval,
  listApprovals,
  rejectApproval,
} from './approvals.js';
export { createApprovalNotifier, notificationBody } from './notify.js';
export { startApprovalSweeper } from './sweeper.js';
