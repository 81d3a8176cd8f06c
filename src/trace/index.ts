export { TRACE_LIMIT } from './load-actions.js';
export type {
  TimelineStep,
  TimelineStepName,
  Trace,
  TraceAction,
  TraceApproval,
  TraceAuditEntry,
  TraceDecision,
  TraceEffect,
  TraceEvent,
  TraceExecution,
  TraceProposal,
  TraceQueryKind,
  TraceVerdict,
} from './trace-document.js';
export { traceOf } from './trace-of.js';
