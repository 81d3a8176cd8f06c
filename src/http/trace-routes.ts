import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Store } from '../store/index.js';
import { traceOf } from '../trace/index.js';
import { parseInput } from './input.js';
import { requireOperator } from './operator-auth.js';

const params = z.strictObject({ '*': z.string().min(1, 'an id is required').max(1000) });

/**
 * `GET /v1/trace/:id`, for operators with at least the viewer role: the whole chain behind an
 * event id, provider event id, action id, approval id, idempotency key or `system:type:id`
 * (URL-encoded). 404 `trace-not-found` when the id names nothing.
 */
export function registerTraceRoutes(
  app: FastifyInstance,
  deps: { store: Store; config: Pick<Config, 'operators'> },
): void {
  const viewer = requireOperator(deps.config.operators, 'viewer');

  // A wildcard, not `:id`: the router refuses a `:param` longer than a record id (500), and
  // record references (`system:type:id`) are longer than that.
  app.get('/v1/trace/*', { preHandler: viewer }, async (request) => {
    const { '*': id } = parseInput(params, request.params, 'query');
    return traceOf(deps.store, id);
  });
}
