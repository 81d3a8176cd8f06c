import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import {
  activeSpan,
  createTelemetry,
  injectTraceContext,
  inSpan,
  recordError,
  type Telemetry,
  tracesUrl,
} from './index.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const traceparent = (flags = '01') => `00-${TRACE_ID}-${CALLER_SPAN}-${flags}`;

describe('telemetry off (no otlpUrl)', () => {
  let off: Telemetry;
  beforeAll(async () => {
    off = await createTelemetry({ serviceName: 'airlock', sampleRatio: 1 });
  });

  it('runs the work with a span that records nothing, and sends no trace context', async () => {
    expect(off.enabled).toBe(false);
    const headers: Record<string, string> = {};
    const result = await inSpan(off, 'webhook.receive', { remote: {} }, async (span) => {
      expect(span.isRecording()).toBe(false);
      expect(activeSpan()).toBeUndefined();
      injectTraceContext(headers);
      return 42;
    });
    expect(result).toBe(42);
    expect(headers).toEqual({});
  });

  it('does not pass on a traceparent it was given', async () => {
    const headers: Record<string, string> = {};
    await inSpan(off, 'action.propose', { remote: { traceparent: traceparent() } }, async () =>
      injectTraceContext(headers),
    );
    expect(headers).toEqual({});
  });

  it('stays off when another provider is registered globally', async () => {
    const exporter = new InMemorySpanExporter();
    const processor = new SimpleSpanProcessor({ exporter });
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [processor] }));
    try {
      off.tracer.startSpan('ours').end();
      trace.getTracer('someone-else').startSpan('theirs').end();
      expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['theirs']);
    } finally {
      trace.disable();
    }
  });
});

describe('telemetry with an in-memory exporter', () => {
  let exporter: InMemorySpanExporter;
  let telemetry: Telemetry;

  const start = async (sampleRatio = 1) => {
    exporter = new InMemorySpanExporter();
    telemetry = await createTelemetry({ serviceName: 'airlock-unit', sampleRatio }, { exporter });
  };
  const spans = () => exporter.getFinishedSpans();
  const named = (name: string) => {
    const found = spans().find((span) => span.name === name);
    if (!found) throw new Error(`no span ${name} among ${spans().map((s) => s.name)}`);
    return found;
  };

  afterEach(async () => {
    await telemetry?.shutdown();
  });

  it('records nested spans as parent and child, with the service name', async () => {
    await start();
    await inSpan(telemetry, 'outer', { attributes: { 'airlock.agent': 'bot' } }, async () => {
      await inSpan(telemetry, 'inner', { kind: SpanKind.CLIENT }, async (span) => {
        span.setAttribute('http.response.status_code', 200);
      });
    });
    const outer = named('outer');
    const inner = named('inner');
    expect(outer.attributes['airlock.agent']).toBe('bot');
    expect(outer.parentSpanContext).toBeUndefined();
    expect(inner.spanContext().traceId).toBe(outer.spanContext().traceId);
    expect(inner.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(inner.kind).toBe(SpanKind.CLIENT);
    expect(inner.attributes['http.response.status_code']).toBe(200);
    expect(outer.resource.attributes['service.name']).toBe('airlock-unit');
  });

  it('continues a W3C traceparent from request headers, and injects its own into outgoing ones', async () => {
    await start();
    const outgoing: Record<string, string> = {};
    await inSpan(telemetry, 'action.propose', { remote: { traceparent: traceparent() } }, () =>
      inSpan(telemetry, 'connector.call', {}, async () => injectTraceContext(outgoing)),
    );
    const propose = named('action.propose');
    const call = named('connector.call');
    expect(propose.spanContext().traceId).toBe(TRACE_ID);
    expect(propose.parentSpanContext).toMatchObject({ spanId: CALLER_SPAN, isRemote: true });
    expect(outgoing.traceparent).toBe(`00-${TRACE_ID}-${call.spanContext().spanId}-01`);
  });

  it('starts a new trace for headers without a traceparent, or with a malformed one', async () => {
    await start();
    await inSpan(telemetry, 'a', { remote: {} }, async () => {});
    await inSpan(telemetry, 'b', { remote: { traceparent: 'not-a-traceparent' } }, async () => {});
    for (const span of spans()) {
      expect(span.parentSpanContext).toBeUndefined();
      expect(span.spanContext().traceId).not.toBe(TRACE_ID);
    }
  });

  it('starts a root span with `root`, even inside another', async () => {
    await start();
    await inSpan(telemetry, 'request', {}, () =>
      inSpan(telemetry, 'action.execute', { root: true }, async () => {}),
    );
    const execute = named('action.execute');
    expect(execute.parentSpanContext).toBeUndefined();
    expect(execute.spanContext().traceId).not.toBe(named('request').spanContext().traceId);
  });

  it('fails a span on an unexpected error, but only names a refusal', async () => {
    await start();
    const boom = inSpan(telemetry, 'broken', {}, async () => {
      throw new Error('boom');
    });
    await expect(boom).rejects.toThrow('boom');
    const refused = inSpan(telemetry, 'refused', {}, async () => {
      throw new AppError('signature-invalid', 401, 'bad signature');
    });
    await expect(refused).rejects.toThrow('bad signature');
    await inSpan(telemetry, 'unavailable', {}, async (span) =>
      recordError(span, new AppError('connector-unavailable', 503, 'down')),
    );

    expect(named('broken').status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'boom' });
    expect(named('broken').events.map((event) => event.name)).toContain('exception');
    expect(named('refused').status.code).toBe(SpanStatusCode.UNSET);
    expect(named('refused').attributes['error.type']).toBe('signature-invalid');
    expect(named('unavailable').status.code).toBe(SpanStatusCode.ERROR);
    expect(named('unavailable').attributes['error.type']).toBe('connector-unavailable');
  });

  it('samples new traces by sampleRatio, and follows the caller on a continued one', async () => {
    await start(0);
    const outgoing: Record<string, string> = {};
    await inSpan(telemetry, 'new', {}, async (span) => {
      expect(span.isRecording()).toBe(false);
      injectTraceContext(outgoing);
    });
    // Not recorded, yet still passed on, marked not sampled, so the system does not record it.
    expect(outgoing.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    await inSpan(telemetry, 'continued', { remote: { traceparent: traceparent('01') } }, () =>
      Promise.resolve(),
    );
    await inSpan(telemetry, 'declined', { remote: { traceparent: traceparent('00') } }, () =>
      Promise.resolve(),
    );
    expect(spans().map((span) => span.name)).toEqual(['continued']);
  });

  it('keeps the spans of concurrent requests apart', async () => {
    await start();
    const request = (name: string, ms: number) =>
      inSpan(telemetry, name, {}, async () => {
        await new Promise((resolve) => setTimeout(resolve, ms));
        await inSpan(telemetry, `${name}.call`, {}, async () => {});
      });
    await Promise.all([request('slow', 20), request('fast', 1)]);
    for (const name of ['slow', 'fast']) {
      expect(named(`${name}.call`).parentSpanContext?.spanId).toBe(
        named(name).spanContext().spanId,
      );
    }
  });
});

describe('tracesUrl', () => {
  it.each([
    ['http://collector:4318', 'http://collector:4318/v1/traces'],
    ['http://collector:4318/', 'http://collector:4318/v1/traces'],
    ['https://otlp.example.com/v1/traces', 'https://otlp.example.com/v1/traces'],
    ['https://example.com/otlp/v1/traces', 'https://example.com/otlp/v1/traces'],
  ])('%s → %s', (given, used) => {
    expect(tracesUrl(given)).toBe(used);
  });
});

describe('telemetry config', () => {
  it('is off by default, and set from the file or the environment', () => {
    expect(loadConfig({ env: {} }).telemetry).toEqual({ serviceName: 'airlock', sampleRatio: 1 });
    const config = loadConfig({
      env: {
        AIRLOCK_TELEMETRY__OTLP_URL: 'http://127.0.0.1:4318',
        AIRLOCK_TELEMETRY__SAMPLE_RATIO: '0.25',
      },
      values: { telemetry: { serviceName: 'airlock-eu' } },
    });
    expect(config.telemetry).toEqual({
      otlpUrl: 'http://127.0.0.1:4318',
      serviceName: 'airlock-eu',
      sampleRatio: 0.25,
    });
  });

  it.each([
    [{ sampleRatio: 1.5 }, 'telemetry.sampleRatio'],
    [{ otlpUrl: 'grpc://collector:4317' }, 'telemetry.otlpUrl'],
    [{ endpoint: 'http://collector:4318' }, 'telemetry'],
  ])('refuses %j, naming %s', (telemetry, key) => {
    expect(() => loadConfig({ env: {}, values: { telemetry } })).toThrow(key);
  });
});
