import { AirlockError, isProblem, problemCode } from './airlock-error.js';

/** Where and as whom the client calls the gateway. */
export interface Transport {
  /** The gateway's base URL, without a trailing slash. */
  readonly baseUrl: string;
  readonly key: string;
  readonly fetch: typeof fetch;
  readonly timeoutMs: number;
}

/** An answer as the client reads it: the body parsed when it is JSON, else the text. */
export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/**
 * One call to the gateway with the agent's key; a JSON `body` is sent as JSON. Any answer
 * resolves (check `status`); throws an `AirlockError` only when none came.
 */
export async function sendRequest(
  transport: Transport,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  const what = `${method} ${path}`;
  const headers: Record<string, string> = {
    accept: 'application/json, application/problem+json',
    authorization: `Bearer ${transport.key}`,
    ...options.headers,
  };
  let response: Response;
  try {
    response = await transport.fetch(`${transport.baseUrl}${path}`, {
      method,
      headers:
        options.body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(transport.timeoutMs),
    });
  } catch (cause) {
    const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
    throw new AirlockError(
      timedOut
        ? `${what}: no answer within ${transport.timeoutMs} ms`
        : `${what}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { status: null, code: timedOut ? 'timeout' : 'transport', cause },
    );
  }
  const text = await response.text();
  let body: unknown = text;
  if (text !== '' && /json/i.test(response.headers.get('content-type') ?? '')) {
    try {
      body = JSON.parse(text);
    } catch (cause) {
      throw new AirlockError(`${what}: the answer (HTTP ${response.status}) is not valid JSON`, {
        status: response.status,
        code: 'unexpected-response',
        cause,
      });
    }
  }
  return { status: response.status, headers: response.headers, body };
}

/** The body of a 2xx answer; anything else thrown as an `AirlockError`. */
export function expectSuccess(answer: HttpAnswer, what: string): unknown {
  if (answer.status >= 200 && answer.status < 300) return answer.body;
  throw answerError(answer, what);
}

/** An answer the caller does not hand back as a value, as an `AirlockError`. */
export function answerError(answer: HttpAnswer, what: string): AirlockError {
  if (isProblem(answer.body)) {
    return new AirlockError(`${what}: ${answer.body.detail ?? answer.body.title}`, {
      status: answer.status,
      code: problemCode(answer.body),
      problem: answer.body,
    });
  }
  return new AirlockError(`${what}: unexpected HTTP ${answer.status}`, {
    status: answer.status,
    code: 'unexpected-response',
  });
}
