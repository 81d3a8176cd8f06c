import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
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

/**
 * What Node's HTTP server refuses before Fastify has a request (one that did not arrive within
 * `server.requestTimeout`, headers over the size limit, bytes that are not HTTP), answered as
 * problem+json too, on the socket, which is then closed. Fastify's own answer is plain JSON.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // Reset by the client: there is no one to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail]: [number, string, string] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request-timeout', "the request did not arrive within the server's request timeout"]
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'headers-too-large', 'the request headers are larger than the server takes']
        : [400, 'malformed-request', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify({ type: problemType(code), title: titleOf(code), status, detail });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
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
