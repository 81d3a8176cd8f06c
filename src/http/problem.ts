import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, coerceError } from '../errors.js';

/** RFC 9457 problem details. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance: string;
  readonly [member: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** The problem `type` of an error code. Stable: clients may switch on it. */
export function problemType(code: string): string {
  return `urn:airlock:problem:${code}`;
}

/** Fastify's own client errors, under Airlock's stable codes. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-body',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed-body',
  FST_ERR_BAD_URL: 'bad-url',
  FST_ERR_MAX_PARAM_LENGTH: 'url-too-long',
};

/** The one place an error becomes an HTTP answer. Client mistakes are 4xx, never 5xx. */
export function replyWithError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const appError = toAppError(error);
  if (appError.status >= 500) {
    request.log.error({ err: error }, 'request failed');
  }
  const detail =
    appError.status >= 500 && appError.code === 'internal'
      ? `internal error; quote request ${request.id} when reporting it`
      : appError.message;
  const problem: Problem = {
    ...appError.details,
    type: problemType(appError.code),
    title: titleOf(appError.code),
    status: appError.status,
    detail,
    instance: request.url,
    requestId: request.id,
  };
  if (appError.details.retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(appError.details.retryAfterSeconds));
  }
  return reply.code(appError.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/** Anything a route threw, as the AppError it is answered with. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    if (fastifyError.validation) {
      return new AppError('invalid-request', 400, fastifyError.message ?? 'invalid request');
    }
    const code =
      (fastifyError.code && FASTIFY_CODES[fastifyError.code]) ??
      (error instanceof SyntaxError ? 'malformed-body' : `http-${status}`);
    return new AppError(code, status, fastifyError.message ?? 'bad request', { cause: error });
  }
  return coerceError(error);
}

function titleOf(code: string): string {
  const words = code.replaceAll('-', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
