import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AppError, describeIssues } from '../errors.js';
import type { Actor } from './state.js';

const MAX_ACTOR_LENGTH = 200;

/** A request body or query checked against `schema`; 400 `invalid-request` naming what was wrong. */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  what: string,
): z.output<T> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const problems = describeIssues(parsed.error.issues, what);
  throw new AppError('invalid-request', 400, problems.join('; '), { details: { problems } });
}

/** Who is writing: the `X-Actor` and `X-Action-Id` headers, recorded and echoed in webhooks. */
export function actorOf(request: FastifyRequest): Actor {
  return { actor: headerText(request, 'x-actor'), actionId: headerText(request, 'x-action-id') };
}

function headerText(request: FastifyRequest, name: string): string | null {
  const value = request.headers[name];
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return null;
  if (text.length > MAX_ACTOR_LENGTH) {
    throw new AppError('invalid-request', 400, `${name} is longer than ${MAX_ACTOR_LENGTH}`);
  }
  return text;
}

/** 404 `not-found` for a record that does not exist. */
export function notFound(type: string, id: string): AppError {
  return new AppError('not-found', 404, `${type} ${id} not found`, { details: { type, id } });
}
