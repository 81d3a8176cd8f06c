import { ProxyTracerProvider, type Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';

/** `telemetry:` in the config. */
export interface TelemetryOptions {
  /** The collector's OTLP/HTTP address; tracing is off without one (unless an exporter is given). */
  readonly otlpUrl?: string | undefined;
  readonly serviceName: string;
  /** 0..1: the share of new traces recorded; a continued trace keeps its caller's decision. */
  readonly sampleRatio: number;
}

/** One gateway's tracing, handed to its modules; nothing of it is registered globally. */
export interface Telemetry {
  /** Makes the gateway's spans: the API's no-op tracer when tracing is off. */
  readonly tracer: Tracer;
  /** False when tracing is off: `inSpan` then skips everything but the work itself. */
  readonly enabled: boolean;
  /** Exports the spans ended so far. Never rejects: failures go to `onExportError`. */
  forceFlush(): Promise<void>;
  /** Exports what is left and stops; spans ended later are dropped. Never rejects. */
  shutdown(): Promise<void>;
}

/**
 * Tracing off. The tracer comes from a provider of our own with no delegate, not from
 * `trace.getTracer()`: a provider some other code registers globally must not turn it on.
 */
export const TELEMETRY_OFF: Telemetry = {
  tracer: new ProxyTracerProvider().getTracer('airlock'),
  enabled: false,
  forceFlush: async () => {},
  shutdown: async () => {},
};

export interface CreateTelemetryOptions {
  /**
   * Export here instead, each span as it ends, even without `otlpUrl` (tests pass the SDK's
   * `InMemorySpanExporter`).
   */
  readonly exporter?: SpanExporter | undefined;
  /**
   * Told when spans could not be exported (collector down or refusing): once when exports start
   * failing, not for every batch; the spans are dropped.
   */
  readonly onExportError?: ((error: Error | undefined) => void) | undefined;
}

/**
 * A tracer provider of this gateway's own: OTLP/HTTP (JSON) to `otlpUrl` in batches, or
 * `TELEMETRY_OFF` when there is nowhere to export to. OpenTelemetry's own environment variables
 * still apply to the exporter and batching (`OTEL_EXPORTER_OTLP_HEADERS` for a collector's
 * credentials, `OTEL_BSP_*`); `otlpUrl` wins over `OTEL_EXPORTER_OTLP_*ENDPOINT`. The SDK is
 * loaded only then: a gateway that does not trace does not hold it (about 15 MB).
 */
export async function createTelemetry(
  options: TelemetryOptions,
  extra: CreateTelemetryOptions = {},
): Promise<Telemetry> {
  const target = extra.exporter ?? options.otlpUrl;
  if (!target) return TELEMETRY_OFF;
  const { sdkTelemetry } = await import('./sdk-telemetry.js');
  return sdkTelemetry(options, target, extra.onExportError);
}

/** `http://collector:4318` means its standard traces path; a URL with a path is used as given. */
export function tracesUrl(otlpUrl: string): string {
  const url = new URL(otlpUrl);
  if (url.pathname !== '/') return otlpUrl;
  url.pathname = '/v1/traces';
  return url.toString();
}
