export { measureConnector } from './measured-connector.js';
export {
  type ActionOutcome,
  type ApprovalOutcome,
  createMetrics,
  type Metrics,
  type PreventedWrite,
  type QueueDepth,
} from './metrics.js';
export { registerMetricsRoute } from './metrics-route.js';
