export {
  activeSpan,
  injectTraceContext,
  inSpan,
  recordError,
  type SpanStart,
  type TraceCarrier,
} from './spans.js';
export {
  type CreateTelemetryOptions,
  createTelemetry,
  TELEMETRY_OFF,
  type Telemetry,
  type TelemetryOptions,
  tracesUrl,
} from './telemetry.js';
export { traceConnector } from './traced-connector.js';
