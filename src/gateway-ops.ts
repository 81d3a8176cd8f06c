import { actionOps } from './actions/action-ops.js';
import { activityOps } from './activity/activity-counts.js';
import { sessionOps } from './dashboard/sessions.js';
import { deliveryOps } from './dispatch/delivery-ops.js';
import { pruneOps } from './prune.js';

/**
 * Every write of a running gateway besides the inbox's, as store ops (store/op-runner.ts): the
 * action pipeline's, the approvals', event delivery's, activity counting's, pruning's and the
 * dashboard's sign-ins. One runner runs them all, so on SQLite they share one writer thread and
 * its group commits.
 */
export const gatewayOps = {
  ...actionOps,
  ...deliveryOps,
  ...activityOps,
  ...pruneOps,
  ...sessionOps,
};

/** Where a writer thread finds `gatewayOps`. */
export const GATEWAY_OPS_MODULE = {
  module: new URL('./gateway-ops.js', import.meta.url),
  name: 'gatewayOps',
};
