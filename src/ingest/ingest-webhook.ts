import { SpanKind } from '@opentelemetry/api';
import type { Config, SourceConfig } from '../config.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics/index.js';
import { GroupCommitter } from '../store/group-commit.js';
import type { Store } from '../store/index.js';
import { inSpan, type Telemetry } from '../telemetry/index.js';
import type { AcceptedEvent, InboxDelivery } from './inbox.js';
import { createInboxWriter } from './inbox-writer.js';
import { checkEvents, type SchemeOptions, schemes, type WebhookRequest } from './schemes/index.js';

/** What a webhook request came to: one entry per event it carried. */
export interface IngestResult {
  readonly events: readonly AcceptedEvent[];
  /** True when every event in the request had been received before. */
  readonly duplicate: boolean;
}

export interface Ingestor {
  /**
   * Verifies, identifies and durably commits a webhook request for the named source; resolves
   * only after the commit. Throws AppError `unknown-source` (404), `signature-missing`,
   * `signature-invalid`, `timestamp-out-of-tolerance` (401) or `malformed-body` (400).
   */
  ingest(source: string, request: WebhookRequest): Promise<IngestResult>;
  /** Resolves when every request accepted so far has been committed. */
  idle(): Promise<void>;
  /** Commits what was accepted, then releases the writer. */
  close(): Promise<void>;
}

export interface IngestorDeps {
  readonly store: Store;
  readonly config: Pick<Config, 'sources' | 'ingest'>;
  /** Epoch milliseconds; injectable for timestamp-tolerance tests. */
  readonly now?: () => number;
  readonly metrics?: Metrics;
  readonly telemetry?: Telemetry | undefined;
  readonly log?: Logger | undefined;
}

/**
 * Batches committing at once: with two, the writer finds the next batch waiting when it ends
 * one, instead of idling while the answers of the last go out and the next is handed over.
 */
const IN_FLIGHT_BATCHES = 2;

/** Headers never kept with a stored request. */
const UNSTORED_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

export function createIngestor({
  store,
  config,
  now = Date.now,
  metrics,
  telemetry,
  log,
}: IngestorDeps): Ingestor {
  const writer = createInboxWriter(store);
  const committer = new GroupCommitter<InboxDelivery, AcceptedEvent[]>(
    (batch) => writer.write(batch),
    config.ingest.maxBatch,
    IN_FLIGHT_BATCHES,
  );

  const ingest = async (sourceName: string, request: WebhookRequest): Promise<IngestResult> => {
    const source = Object.hasOwn(config.sources, sourceName)
      ? config.sources[sourceName]
      : undefined;
    if (!source) {
      throw new AppError('unknown-source', 404, `no webhook source named "${sourceName}"`, {
        details: { source: sourceName },
      });
    }
    const receivedAt = now();
    const scheme = schemes[source.scheme];
    const options = schemeOptions(source);
    const verdict = scheme.verify(
      request,
      source.secrets.map((secret) => secret.reveal()),
      options,
      receivedAt,
    );
    if (!verdict.ok) {
      throw new AppError(verdict.code, 401, verdict.detail, { details: { source: sourceName } });
    }
    const events = checkEvents(scheme.identify(request, options), {
      receivedAt,
      aheadMs: source.toleranceSeconds * 1000,
      fields: scheme.fields,
    });
    const system = source.system ?? sourceName;
    const accepted = await committer.submit({
      source: sourceName,
      system,
      receivedAt,
      headers: storedHeaders(request.headers, scheme.secretHeaders?.(options) ?? []),
      body: request.body,
      events,
    });
    // Per event, so at debug: at thousands of events a second a line each would cost more than
    // storing them.
    if (log?.isLevelEnabled('debug')) {
      for (const [index, event] of events.entries()) {
        log.debug(
          {
            event_id: accepted[index]?.id,
            source: sourceName,
            source_system: system,
            provider_event_id: event.providerEventId,
            record: event.record ? `${system}:${event.record.type}:${event.record.id}` : null,
            duplicate: accepted[index]?.duplicate,
          },
          'webhook event stored',
        );
      }
    }
    return { events: accepted, duplicate: accepted.every((event) => event.duplicate) };
  };

  /** `ingest` in a `webhook.receive` span, continuing a trace the sender passed in `traceparent`. */
  const receive = (source: string, request: WebhookRequest) =>
    inSpan(
      telemetry,
      'webhook.receive',
      { kind: SpanKind.SERVER, remote: request.headers, attributes: { 'airlock.source': source } },
      async (span) => {
        const result = await ingest(source, request);
        if (span.isRecording()) {
          span.setAttributes({
            'airlock.event_ids': result.events.map((event) => event.id),
            'airlock.duplicate': result.duplicate,
          });
          // The event the answer names; `airlock.event_ids` has every event of a batch.
          const [first] = result.events;
          if (first) span.setAttribute('airlock.event_id', first.id);
        }
        return result;
      },
    );

  return {
    async ingest(source, request) {
      const started = performance.now();
      try {
        const result = await receive(source, request);
        const duplicates = result.events.filter((event) => event.duplicate).length;
        metrics?.eventReceived(source, result.events.length);
        if (duplicates > 0) metrics?.eventDuplicate(source, duplicates);
        metrics?.observeIngest((performance.now() - started) / 1000);
        return result;
      } catch (error) {
        if (error instanceof AppError && error.status < 500) {
          metrics?.eventRejected(source, error.code);
          log?.warn({ source, reason: error.code, detail: error.message }, 'webhook refused');
        }
        throw error;
      }
    },
    idle: () => committer.idle(),
    close: async () => {
      await committer.idle();
      await writer.close();
    },
  };
}

function schemeOptions(source: SourceConfig): SchemeOptions {
  return {
    toleranceSeconds: source.toleranceSeconds,
    signatureHeader: source.signatureHeader,
    encoding: source.encoding,
    signaturePrefix: source.signaturePrefix,
    eventIdHeader: source.eventIdHeader,
  };
}

function storedHeaders(
  headers: WebhookRequest['headers'],
  secretHeaders: readonly string[],
): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !UNSTORED_HEADERS.has(name) && !secretHeaders.includes(name)) {
      kept[name] = value;
    }
  }
  return kept;
}
