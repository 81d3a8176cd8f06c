/**
 * An RFC 9457 problem document as the gateway answers one (`application/problem+json`). `type`
 * is stable: `urn:airlock:problem:<code>`. Members beyond the standard ones say what was wrong
 * and carry the ids to follow up.
 */
export interface AirlockProblem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  /** The path of the request. */
  readonly instance?: string;
  /** Quote it when reporting a 5xx. */
  readonly requestId?: string;
  readonly [member: string]: unknown;
}

const PROBLEM_PREFIX = 'urn:airlock:problem:';

/** The code of a problem type (`urn:airlock:problem:stale-basis` → `stale-basis`). */
export function problemCode(problem: Pick<AirlockProblem, 'type'>): string {
  return problem.type.startsWith(PROBLEM_PREFIX)
    ? problem.type.slice(PROBLEM_PREFIX.length)
    : problem.type;
}

/** Whether a parsed body is a problem document. */
export function isProblem(body: unknown): body is AirlockProblem {
  if (typeof body !== 'object' || body === null) return false;
  const { type, status } = body as Record<string, unknown>;
  return typeof type === 'string' && typeof status === 'number';
}

/**
 * What the client throws when it did not get an answer it can hand back as a value: the gateway
 * was unreachable or timed out (`status` null), refused the key (401), failed (5xx), or answered
 * something the call does not expect.
 */
export class AirlockError extends Error {
  override readonly name = 'AirlockError';
  /** The HTTP status; null when no answer came (connection refused, timeout). */
  readonly status: number | null;
  /**
   * The problem's code (`unauthorized`, `action-not-found`, `internal`, …), or `transport`,
   * `timeout`, `unexpected-response` when the gateway's answer was not a problem document.
   */
  readonly code: string;
  /** The problem document the gateway answered, when it answered one. */
  readonly problem: AirlockProblem | null;

  constructor(
    message: string,
    options: {
      status: number | null;
      code: string;
      problem?: AirlockProblem | null;
      cause?: unknown;
    },
  ) {
    super(message, { cause: options.cause });
    this.status = options.status;
    this.code = options.code;
    this.problem = options.problem ?? null;
  }
}
