import type { Metrics } from '../metrics/index.js';
import type { ActivityTally } from './tally.js';

/** What `eventRejected` records as the source of an `unknown-source` refusal, as metrics do. */
const UNKNOWN_SOURCE = '(unknown)';

/**
 * `metrics`, with the occurrences nothing else stores also counted in `tally` for the dashboard:
 * refused webhook requests, failed connector calls and prevented writes. Prometheus counters
 * live and die with the process; these counts outlive it and add up across instances.
 */
export function countingMetrics(metrics: Metrics, tally: Pick<ActivityTally, 'count'>): Metrics {
  return {
    registry: metrics.registry,
    eventReceived: (source, count) => metrics.eventReceived(source, count),
    eventDuplicate: (source, count) => metrics.eventDuplicate(source, count),
    eventRejected: (source, reason) => {
      metrics.eventRejected(source, reason);
      // The name comes from the URL path: an unconfigured one must not become a subject.
      tally.count(
        'webhook_rejected',
        reason === 'unknown-source' ? UNKNOWN_SOURCE : source,
        reason,
      );
    },
    actionOutcome: (operation, outcome) => metrics.actionOutcome(operation, outcome),
    approvalOutcome: (outcome) => metrics.approvalOutcome(outcome),
    writePrevented: (kind) => {
      metrics.writePrevented(kind);
      tally.count('write_prevented', '-', kind);
    },
    connectorError: (system, status) => {
      metrics.connectorError(system, status);
      tally.count('connector_error', system, String(status));
    },
    observeIngest: (seconds) => metrics.observeIngest(seconds),
    observePipeline: (operation, seconds) => metrics.observePipeline(operation, seconds),
    observeConnectorCall: (system, operation, seconds) =>
      metrics.observeConnectorCall(system, operation, seconds),
    observeStoreOp: (op, seconds) => metrics.observeStoreOp(op, seconds),
    setQueueDepth: (provider) => metrics.setQueueDepth(provider),
  };
}
