import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  type SpanOptions,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AppError } from '../errors.js';
import type { Telemetry } from './telemetry.js';

/** Headers a trace context may arrive in: lower-case names, as Node gives them. */
export type TraceCarrier = Readonly<Record<string, string | string[] | undefined>>;

const propagator = new W3CTraceContextPropagator();

/**
 * The span of the step under way in this async chain. Our own rather than the API's global
 * context manager: nothing process-wide is registered, so several gateways in one process, or a
 * host application with its own OpenTelemetry set-up, neither share nor replace it. Entered only
 * while tracing is on, since on Node 20 AsyncLocalStorage costs something on every promise once
 * it is in use.
 */
const current = new AsyncLocalStorage<Context>();

/** What `work` gets when tracing is off: records nothing. */
const NOT_RECORDING = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export interface SpanStart extends SpanOptions {
  /**
   * Continue the trace these request headers carry (W3C `traceparent`, `tracestate`), or start
   * a new one when they carry none. Without it the span is a child of the step under way in
   * this async chain, if any (unless `root`).
   */
  readonly remote?: TraceCarrier | undefined;
}

/**
 * Runs `work` in a new span, current for the spans and outgoing calls under it, and ends it. A
 * thrown error is recorded (see `recordError`) and rethrown. With tracing off, runs `work` alone.
 */
export async function inSpan<T>(
  telemetry: Telemetry | undefined,
  name: string,
  start: SpanStart,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  if (!telemetry?.enabled) return work(NOT_RECORDING);
  const { remote, ...options } = start;
  const parent = remote
    ? propagator.extract(ROOT_CONTEXT, remote, defaultTextMapGetter)
    : (current.getStore() ?? ROOT_CONTEXT);
  const span = telemetry.tracer.startSpan(name, options, parent);
  try {
    return await current.run(trace.setSpan(parent, span), () => work(span));
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/**
 * An error on a span: an AppError's code as `error.type`. A refusal (AppError under 500: bad
 * input, stale basis, policy) is the caller's and leaves the span's status unset, as the HTTP
 * conventions do for a server's 4xx; anything else fails the span.
 */
export function recordError(span: Span, error: unknown): void {
  if (error instanceof AppError) {
    span.setAttribute('error.type', error.code);
    if (error.status < 500) return;
  }
  const message = error instanceof Error ? error.message : String(error);
  span.recordException(error instanceof Error ? error : message);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** The span of the step under way in this async chain; undefined when none or tracing is off. */
export function activeSpan(): Span | undefined {
  const context = current.getStore();
  return context && trace.getSpan(context);
}

/** Adds the W3C `traceparent` (and `tracestate`) of the step under way to outgoing headers. */
export function injectTraceContext(headers: Record<string, string>): void {
  const context = current.getStore();
  if (context) propagator.inject(context, headers, defaultTextMapSetter);
}
