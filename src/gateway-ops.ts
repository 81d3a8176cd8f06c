import { actionOps } from './actions/action-ops.js';
import { deliveryOps } from './dispatch/delivery-ops.js';

/**
 * Every write of a running gateway besides the inbox's, as store ops (store/op-runner.ts): the
 * action pipeline's, the approvals' and event delivery's. One runner runs them all, so on
 * SQLite they share one writer thread and its group commits.
 */
export const gatewayOps = { ...actionOps, ...deliveryOps };

/** Where a writer thread finds `gatewayOps`. */
export const GATEWAY_OPS_MODULE = {
  module: new URL('./gateway-ops.js', import.meta.url),
  name: 'gatewayOps',
};
