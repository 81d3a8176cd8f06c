import { type Attributes, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { Connector, RecordRef, WriteRequest } from '../connectors/index.js';
import { inSpan } from './spans.js';
import type { Telemetry } from './telemetry.js';

/**
 * `connector` with each call (read, execute, reconcile, related) in a `connector.call` span, a
 * child of the step under way: a proposal's reads and first attempt sit in its `action.propose`,
 * a worker's attempt in its `action.execute`. The connector's HTTP client adds the span's
 * `traceparent` to what it sends and the response status to the span. Returned as it is when
 * tracing is off.
 */
export function traceConnector(
  connector: Connector,
  system: string,
  telemetry: Telemetry,
): Connector {
  if (!telemetry.enabled) return connector;
  const call = <T>(method: string, attributes: Attributes, work: (span: Span) => Promise<T>) =>
    inSpan(
      telemetry,
      'connector.call',
      {
        kind: SpanKind.CLIENT,
        attributes: { 'airlock.system': system, 'airlock.connector.method': method, ...attributes },
      },
      work,
    );
  return {
    read: (ref) =>
      call('read', recordOf(ref), async (span) => {
        const snapshot = await connector.read(ref);
        span.setAttribute('airlock.outcome', snapshot ? 'found' : 'missing');
        return snapshot;
      }),
    execute: (request) =>
      call('execute', writeOf(request), async (span) => {
        const outcome = await connector.execute(request);
        span.setAttribute('airlock.outcome', outcome.kind);
        if (outcome.kind !== 'applied') {
          span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.message });
        }
        return outcome;
      }),
    reconcile: (request) =>
      call('reconcile', writeOf(request), async (span) => {
        const found = await connector.reconcile(request);
        span.setAttribute('airlock.outcome', found.kind);
        if (found.kind === 'unknown') {
          span.setStatus({ code: SpanStatusCode.ERROR, message: found.message });
        }
        return found;
      }),
    related: (ref) => call('related', recordOf(ref), () => connector.related(ref)),
  };
}

const recordOf = (ref: RecordRef): Attributes => ({
  'airlock.record': `${ref.system}:${ref.type}:${ref.id}`,
});

const writeOf = (request: WriteRequest): Attributes => ({
  'airlock.operation': request.operation,
  'airlock.action_id': request.actionId,
  ...recordOf(request.target),
});
