import type { CallFailure, Effect, ReconcileOutcome, WriteOutcome } from '../connector.js';
import type { HttpResult, ResponseHeaders } from './http.js';

type Response = Extract<HttpResult, { kind: 'response' }>;

/**
 * A write's HTTP result as an outcome: 2xx → `applied` (effect from the answer); 409 from a
 * conditional write → `conflict` (a uniqueness 409 is not: the record did not move on);
 * 408, 429 and 5xx → `retry`, honouring `Retry-After`; any other 4xx → `permanent`; not sent →
 * `retry`; sent with no answer → `ambiguous`.
 */
export function writeOutcome(
  result: HttpResult,
  conditional: boolean,
  effectOf: (response: Response) => Effect,
): WriteOutcome {
  if (result.kind === 'unsent')
    return { kind: 'retry', status: null, message: result.message, retryAfterMs: null };
  if (result.kind === 'lost') return { kind: 'ambiguous', message: result.message };
  const { status } = result;
  if (status >= 200 && status < 300) return { kind: 'applied', status, effect: effectOf(result) };
  return failureOutcome(result, conditional);
}

/** The outcome of a non-2xx answer (see `writeOutcome`). */
export function failureOutcome(result: Response, conditional: boolean): WriteOutcome {
  const { status } = result;
  const message = problemText(result);
  if (status === 409 && conditional && problemCode(result) !== 'unique-value-taken') {
    return { kind: 'conflict', status, message };
  }
  if (isTransient(status)) {
    return { kind: 'retry', status, message, retryAfterMs: retryAfterMs(result.headers) };
  }
  return { kind: 'permanent', status, message };
}

/** A status worth asking again for, later: 408, 429 and 5xx. */
export function isTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * A read made before a write, when it failed: nothing was written yet, so a lost or refused read
 * is a `retry` (never `ambiguous`), and a 4xx is `permanent`.
 */
export function failedReadOutcome(result: HttpResult): WriteOutcome {
  if (result.kind !== 'response') {
    return {
      kind: 'retry',
      status: null,
      message: `read before write: ${result.message}`,
      retryAfterMs: null,
    };
  }
  return failureOutcome(result, false);
}

/** A reconcile lookup that could not be answered: try again later. */
export function unknownOutcome(result: HttpResult): ReconcileOutcome {
  const message = result.kind === 'response' ? problemText(result) : result.message;
  return { kind: 'unknown', message, failure: failureOf(result) };
}

/** A failed call's status, or how it got no answer. */
export function failureOf(result: HttpResult): CallFailure {
  if (result.kind === 'response') return result.status;
  return result.kind === 'lost' ? 'timeout' : 'unsent';
}

/** `Retry-After` in milliseconds: delay-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(headers: ResponseHeaders, nowMs = Date.now()): number | null {
  const header = headers['retry-after'];
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - nowMs);
}

/** The problem's `detail` (or the status) as a message. */
export function problemText(result: Response): string {
  const body = result.body as { detail?: unknown; message?: unknown } | null;
  const detail = typeof body?.detail === 'string' ? body.detail : body?.message;
  return `HTTP ${result.status}${typeof detail === 'string' ? `: ${detail}` : ''}`;
}

/** The last segment of a problem `type` (`urn:airlock:problem:<code>`), if any. */
export function problemCode(result: Response): string | null {
  const type = (result.body as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? (type.split(':').at(-1) ?? null) : null;
}
