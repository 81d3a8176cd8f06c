import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.js';
import { getEvent, listEvents, parseRecordRef } from '../ingest/index.js';
import type { Store } from '../store/index.js';
import { parseInput } from './input.js';
import { requireOperator } from './operator-auth.js';

const listQuery = z.strictObject({
  source: z.string().min(1).optional(),
  record: z.string().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().min(1).optional(),
});

/** `GET /v1/events` and `GET /v1/events/:id`, for operators with at least the viewer role. */
export function registerEventsRoutes(
  app: FastifyInstance,
  deps: { store: Store; config: Pick<Config, 'operators'> },
): void {
  const viewer = requireOperator(deps.config.operators, 'viewer');

  app.get('/v1/events', { preHandler: viewer }, async (request) => {
    const { record, ...rest } = parseInput(listQuery, request.query, 'query');
    return listEvents(deps.store, { ...rest, record: record ? parseRecordRef(record) : undefined });
  });

  app.get<{ Params: { id: string } }>('/v1/events/:id', { preHandler: viewer }, async (request) =>
    getEvent(deps.store, request.params.id),
  );
}
