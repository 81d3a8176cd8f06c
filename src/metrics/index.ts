export {
  type ActionOutcome,
  type ApprovalOutcome,
  type ConnectorErrorStatus,
  createMetrics,
  type Metrics,
  type PreventedWrite,
  type QueueDepth,
} from './metrics.js';
export { registerMetricsRoute } from './metrics-route.js';
export { timeConnector } from './timed-connector.js';
