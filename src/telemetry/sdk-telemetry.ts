import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import {
  type CreateTelemetryOptions,
  type Telemetry,
  type TelemetryOptions,
  tracesUrl,
} from './telemetry.js';

// The OpenTelemetry SDK's side of `createTelemetry`, imported only when spans are exported.

/**
 * `createTelemetry` exporting to `target`: each span as it ends to an exporter of the caller's,
 * or in batches to an OTLP/HTTP collector's URL.
 */
export function sdkTelemetry(
  options: TelemetryOptions,
  target: SpanExporter | string,
  onExportError: CreateTelemetryOptions['onExportError'],
): Telemetry {
  const processor =
    typeof target === 'string'
      ? new BatchSpanProcessor({
          exporter: reporting(new OTLPTraceExporter({ url: tracesUrl(target) }), onExportError),
        })
      : new SimpleSpanProcessor({ exporter: reporting(target, onExportError) });
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ 'service.name': options.serviceName }),
    ),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
    // Attribute values include what agents and webhooks send: keep one from growing a span.
    spanLimits: { attributeValueLengthLimit: 1024 },
    spanProcessors: [processor],
  });
  // A failed export was told to `onExportError`; closing a gateway must not fail because of it.
  const ignore = () => {};
  return {
    tracer: provider.getTracer('airlock'),
    enabled: true,
    forceFlush: () => provider.forceFlush().catch(ignore),
    shutdown: () => provider.shutdown().catch(ignore),
  };
}

/**
 * The SDK reports a failed export only to its diagnostic logger, silent unless registered
 * globally; this tells `onError` instead, when failures start (a collector down for an hour
 * should not log every five seconds).
 */
function reporting(
  exporter: SpanExporter,
  onError: CreateTelemetryOptions['onExportError'],
): SpanExporter {
  if (!onError) return exporter;
  let failing = false;
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        const failed = result.code !== ExportResultCode.SUCCESS;
        if (failed && !failing) onError(result.error);
        failing = failed;
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush?.() ?? Promise.resolve(),
  };
}
