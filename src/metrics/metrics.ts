import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CallFailure } from '../connectors/index.js';
import type { ActionStatus, ApprovalStatus } from '../store/index.js';

/** How an action ended up, as stored: every status but the two an action passes through. */
export type ActionOutcome = Exclude<ActionStatus, 'queued' | 'executing'>;

/** How a human approval ended, as stored. */
export type ApprovalOutcome = Exclude<ApprovalStatus, 'pending'>;

/** A write Airlock refused to make, by why it would have been wrong. */
export type PreventedWrite = 'duplicate' | 'stale' | 'wrong_record' | 'not_permitted';

/** Actions waiting or in flight, read from the store when scraped. */
export interface QueueDepth {
  readonly queued: number;
  readonly executing: number;
  readonly pendingApproval: number;
}

/**
 * One gateway's metrics. Label values must come from a bounded set — configured source and
 * system names, catalogue operations, error codes — never from raw request input, since every
 * distinct value is a new series kept for the life of the process.
 */
export interface Metrics {
  /** Holds this gateway's series and the process's default ones; rendered by `GET /metrics`. */
  readonly registry: Registry;
  /** Events in a verified webhook request, duplicates included (`count` for a batch). */
  eventReceived(source: string, count?: number): void;
  /** Of those, events whose id had been seen before (a subset of `eventReceived`). */
  eventDuplicate(source: string, count?: number): void;
  /**
   * A webhook request refused before anything was stored; `reason` is the error code
   * (`signature-invalid`, `malformed-body`, …). For `unknown-source` the source is recorded as
   * `(unknown)`: the name comes from the URL path, and a scanner must not add a series per path.
   */
  eventRejected(source: string, reason: string): void;
  /** An action reached an outcome; `operation` is a catalogue name. */
  actionOutcome(operation: string, outcome: ActionOutcome): void;
  approvalOutcome(outcome: ApprovalOutcome): void;
  /** A write that would have been wrong and was not made. */
  writePrevented(kind: PreventedWrite): void;
  /** A call to an external system that failed: by its status, `timeout` or `unsent`. */
  connectorError(system: string, status: CallFailure): void;
  /** Seconds from a webhook request's arrival to its answer (after the commit). */
  observeIngest(seconds: number): void;
  /** Seconds a proposal spent in the pipeline, from the request to its answer. */
  observePipeline(operation: string, seconds: number): void;
  /** Seconds of one call to an external system (read, write, reconcile or related). */
  observeConnectorCall(system: string, operation: string, seconds: number): void;
  /** Seconds of one store write (`op`, a store op's name), from its submission until durable. */
  observeStoreOp(op: string, seconds: number): void;
  /**
   * Where the queue depth gauge reads from at scrape time; replaces an earlier provider. When the
   * provider fails, the gauge has no series in that scrape rather than old values or a failed
   * scrape: the rest of the page (and `up`) stays truthful while the store is away.
   */
  setQueueDepth(provider: () => Promise<QueueDepth>): void;
}

/**
 * Upper bounds in seconds. The gateway's own steps take well under a millisecond to tens of
 * milliseconds; connector calls over the network reach seconds, up to their timeout (10 s default).
 */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const UNKNOWN_SOURCE = '(unknown)';

let processRegistry: Registry | undefined;

/**
 * The process's default metrics (CPU, memory, event loop, GC), collected once per process: each
 * collection starts an event-loop-delay timer and a GC observer that can never be stopped, and the
 * figures are the same for every gateway in the process anyway.
 */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** A fresh set of metrics in its own registry, so gateways in one process do not share series. */
export function createMetrics(): Metrics {
  // A registry of its own that also lists the process's metrics (shared objects, not copies).
  const registry = Registry.merge([processMetrics(), new Registry()]);
  const registers = [registry];

  const eventsReceived = new Counter({
    name: 'airlock_events_received_total',
    help: 'Events in verified webhook requests, duplicates included.',
    labelNames: ['source'] as const,
    registers,
  });
  const eventsDuplicate = new Counter({
    name: 'airlock_events_duplicate_total',
    help: 'Received events whose id had been seen before; acknowledged, not stored again.',
    labelNames: ['source'] as const,
    registers,
  });
  const eventsRejected = new Counter({
    name: 'airlock_events_rejected_total',
    help: 'Webhook requests refused before anything was stored, by error code.',
    labelNames: ['source', 'reason'] as const,
    registers,
  });
  const actions = new Counter({
    name: 'airlock_actions_total',
    help: 'Actions that reached an outcome, by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    registers,
  });
  const approvals = new Counter({
    name: 'airlock_approvals_total',
    help: 'Human approvals decided or run out, by outcome.',
    labelNames: ['outcome'] as const,
    registers,
  });
  const writesPrevented = new Counter({
    name: 'airlock_writes_prevented_total',
    help: 'Erroneous writes not made: duplicate, stale, wrong_record, not_permitted.',
    labelNames: ['kind'] as const,
    registers,
  });
  const connectorErrors = new Counter({
    name: 'airlock_connector_errors_total',
    help: 'Failed calls to external systems (reads, writes, reconciles), by HTTP status, timeout or unsent.',
    labelNames: ['system', 'status'] as const,
    registers,
  });
  const ingestSeconds = new Histogram({
    name: 'airlock_ingest_duration_seconds',
    help: 'Webhook requests from arrival to answer, the durable commit included.',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const pipelineSeconds = new Histogram({
    name: 'airlock_pipeline_duration_seconds',
    help: 'Proposals from request to answer, by operation.',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const connectorSeconds = new Histogram({
    name: 'airlock_connector_call_duration_seconds',
    help: 'Calls to external systems, by system and operation.',
    labelNames: ['system', 'operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const storeOpSeconds = new Histogram({
    name: 'airlock_store_op_duration_seconds',
    help: 'Store writes from submission until durable (or failed), by op; on SQLite the wait for the group commit included.',
    labelNames: ['op'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });

  let readQueueDepth: (() => Promise<QueueDepth>) | undefined;
  const queueDepth = new Gauge({
    name: 'airlock_actions_queue_depth',
    help: 'Actions queued, executing or pending approval, read from the store when scraped.',
    labelNames: ['status'] as const,
    registers,
    async collect() {
      queueDepth.reset();
      if (!readQueueDepth) return;
      let depth: QueueDepth;
      try {
        depth = await readQueueDepth();
      } catch {
        return;
      }
      queueDepth.set({ status: 'queued' }, depth.queued);
      queueDepth.set({ status: 'executing' }, depth.executing);
      queueDepth.set({ status: 'pending_approval' }, depth.pendingApproval);
    },
  });

  return {
    registry,
    eventReceived: (source, count = 1) => eventsReceived.inc({ source }, count),
    eventDuplicate: (source, count = 1) => eventsDuplicate.inc({ source }, count),
    eventRejected: (source, reason) =>
      eventsRejected.inc({ source: reason === 'unknown-source' ? UNKNOWN_SOURCE : source, reason }),
    actionOutcome: (operation, outcome) => actions.inc({ operation, outcome }),
    approvalOutcome: (outcome) => approvals.inc({ outcome }),
    writePrevented: (kind) => writesPrevented.inc({ kind }),
    connectorError: (system, status) => connectorErrors.inc({ system, status: String(status) }),
    observeIngest: (seconds) => ingestSeconds.observe(seconds),
    observePipeline: (operation, seconds) => pipelineSeconds.observe({ operation }, seconds),
    observeConnectorCall: (system, operation, seconds) =>
      connectorSeconds.observe({ system, operation }, seconds),
    observeStoreOp: (op, seconds) => storeOpSeconds.observe({ op }, seconds),
    setQueueDepth: (provider) => {
      readQueueDepth = provider;
    },
  };
}
