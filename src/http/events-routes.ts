import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
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

const redeliverQuery = z.strictObject({ agent: z.string().min(1).optional() });

/**
 * `GET /v1/events` and `GET /v1/events/:id` for viewers; `POST /v1/events/:id/redeliver`
 * (`?agent=`) and `POST /v1/agents/:name/enable` for admins.
 */
export function registerEventsRoutes(
  app: FastifyInstance,
  deps: { store: Store; config: Pick<Config, 'operators'>; dispatcher: Dispatcher },
): void {
  const viewer = requireOperator(deps.config.operators, 'viewer');
  const admin = requireOperator(deps.config.operators, 'admin');

  app.get('/v1/events', { preHandler: viewer }, async (request) => {
    const { record, ...rest } = parseInput(listQuery, request.query, 'query');
    return listEvents(deps.store, { ...rest, record: record ? parseRecordRef(record) : undefined });
  });

  app.get<{ Params: { id: string } }>('/v1/events/:id', { preHandler: viewer }, async (request) =>
    getEvent(deps.store, request.params.id),
  );

  app.post<{ Params: { id: string } }>(
    '/v1/events/:id/redeliver',
    { preHandler: admin },
    async (request) => {
      const { agent } = parseInput(redeliverQuery, request.query, 'query');
      const { id } = request.params;
      const requeued = await deps.dispatcher.redeliver(id, agent ?? null);
      return { [id.startsWith('dlv_') ? 'delivery' : 'event']: id, requeued };
    },
  );

  app.post<{ Params: { name: string } }>(
    '/v1/agents/:name/enable',
    { preHandler: admin },
    async (request) => ({
      agent: request.params.name,
      enabled: await deps.dispatcher.enable(request.params.name),
    }),
  );
}
