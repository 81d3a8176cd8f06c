import { Agent, type Dispatcher } from 'undici';
import { activeSpan, injectTraceContext } from '../../telemetry/index.js';

/**
 * What a call to the sandbox came to:
 * - `response`: it answered (any status), body parsed as JSON when it is JSON;
 * - `unsent`: the request never reached it (connection refused, no such host): nothing applied;
 * - `lost`: it was sent and no complete answer came back (timeout, reset): it may have applied.
 */
export type HttpResult =
  | {
      readonly kind: 'response';
      readonly status: number;
      /** Lower-case names. */
      readonly headers: ResponseHeaders;
      readonly body: unknown;
    }
  | { readonly kind: 'unsent'; readonly message: string }
  | { readonly kind: 'lost'; readonly message: string };

export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** What a call sends besides method and path. */
export interface CallOptions {
  readonly body?: unknown;
  /** Sent as `X-Action-Id`, so the write and its webhook echo name the action. */
  readonly actionId?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** HTTP to one sandbox. Never throws: every failure is an `HttpResult`. */
export interface SandboxHttp {
  call(method: string, path: string, options?: CallOptions): Promise<HttpResult>;
}

// Failures that happen before a byte of the request is on the wire.
const UNSENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * A client for the sandbox at `url` (no trailing path). Each call, answer body included, must
 * finish within `timeoutMs`. Every request names `actor` in `X-Actor`, which the sandbox records
 * and echoes in its webhooks, so Airlock can recognise its own writes coming back.
 *
 * undici's `dispatch` over a keep-alive agent of its own, the answer gathered by a handler:
 * the same client Node's fetch is built on, without the body stream, abort signal and promise
 * layers of its `request` (which took 45–50 µs of CPU a call on loopback, against 20–24).
 */
export function createSandboxHttp(options: {
  url: string;
  timeoutMs: number;
  actor: string;
}): SandboxHttp {
  const base = new URL(options.url.replace(/\/+$/, ''));
  const prefix = base.pathname === '/' ? '' : base.pathname;
  const agent = new Agent();
  return {
    call(method, path, call = {}) {
      const headers: Record<string, string> = {
        accept: 'application/json',
        'x-actor': options.actor,
        ...(call.actionId ? { 'x-action-id': call.actionId } : {}),
        ...(call.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...call.headers,
      };
      // The system sees the trace of the connector call under way (none when tracing is off).
      injectTraceContext(headers);
      // Taken now: the handler's callbacks run outside the call's context.
      const span = activeSpan();
      return new Promise<HttpResult>((resolve) => {
        let settled = false;
        let controller: Dispatcher.DispatchController | undefined;
        const finish = (result: HttpResult) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(result);
        };
        const timer = setTimeout(() => {
          finish({ kind: 'lost', message: `no complete answer within ${options.timeoutMs} ms` });
          controller?.abort(new Error('timed out'));
        }, options.timeoutMs);
        let status = 0;
        let responseHeaders: ResponseHeaders = {};
        const chunks: Buffer[] = [];
        agent.dispatch(
          {
            origin: base.origin,
            path: `${prefix}${path}`,
            method: method as Dispatcher.HttpMethod,
            headers,
            ...(call.body !== undefined ? { body: JSON.stringify(call.body) } : {}),
          },
          {
            onRequestStart(started) {
              controller = started;
              // Timed out before a connection was had: never send it.
              if (settled) started.abort(new Error('timed out'));
            },
            onResponseStart(_controller, statusCode, answerHeaders) {
              status = statusCode;
              responseHeaders = answerHeaders as ResponseHeaders;
            },
            onResponseData(_controller, chunk) {
              chunks.push(chunk);
            },
            onResponseEnd() {
              // The last answer of a call (a CRM update reads, then writes) is the one the span
              // keeps.
              span?.setAttribute('http.response.status_code', status);
              finish({
                kind: 'response',
                status,
                headers: responseHeaders,
                body: parseJson(Buffer.concat(chunks).toString('utf8')),
              });
            },
            onResponseError(_controller, error) {
              finish(failureOf(error));
            },
          },
        );
      });
    },
  };
}

function failureOf(error: unknown): HttpResult {
  const code = errorCode(error);
  const message = `${error instanceof Error ? error.message : String(error)}${code ? ` (${code})` : ''}`;
  return UNSENT_CODES.has(code ?? '') ? { kind: 'unsent', message } : { kind: 'lost', message };
}

/** The system error's code, on the error or (wrapped) its causes. */
function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
