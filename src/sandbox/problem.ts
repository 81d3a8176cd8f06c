import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, coerceError } from '../errors.js';
import { PROBLEM_CONTENT_TYPE, problemType } from '../http/index.js';

/**
 * Answers any error as RFC 9457 problem+json, with the same `urn:airlock:problem:<code>` types as
 * the gateway. Fastify's own client errors (bad JSON, wrong content type) stay 4xx.
 */
export function replyWithProblem(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const appError = toAppError(error);
  if (appError.status >= 500) request.log.error({ err: error }, 'sandbox request failed');
  if (appError.details.retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(appError.details.retryAfterSeconds));
  }
  return reply
    .code(appError.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send({
      ...appError.details,
      type: problemType(appError.code),
      title: titleOf(appError.code),
      status: appError.status,
      detail: appError.message,
      instance: request.url,
    });
}

/** Fastify's own client errors, under the codes the gateway uses for them. */
const FASTIFY_CODES: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed-body',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed-body',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed-body',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_BAD_URL: 'bad-url',
  FST_ERR_MAX_PARAM_LENGTH: 'url-too-long',
};

function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const { statusCode: status, code } = error as Partial<FastifyError>;
  if (status !== undefined && status >= 400 && status < 500) {
    const stable = (code && FASTIFY_CODES[code]) ?? `http-${status}`;
    return new AppError(stable, status, (error as Error).message, { cause: error });
  }
  return coerceError(error);
}

function titleOf(code: string): string {
  const words = code.replaceAll('-', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
