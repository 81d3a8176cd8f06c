import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticateAgent } from '../agents/index.js';
import type { Config } from '../config.js';
import type { Connector } from '../connectors/connector.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { readRecordView } from '../dispatch/record-view.js';
import { leaseRequestSchema, nackRequestSchema, type RecordView } from '../dispatch/wire.js';
import type { Store } from '../store/index.js';
import { parseInput } from './input.js';

/**
 * The agent side of delivery: `POST /v1/events/lease`, `POST /v1/events/:id/ack|nack`, and
 * `GET /v1/records/:system/:type/:id`, the record as it is now. Authenticated as an agent.
 */
export function registerDeliveryRoutes(
  app: FastifyInstance,
  deps: {
    store: Store;
    config: Pick<Config, 'agents'>;
    dispatcher: Dispatcher;
    connectors: ReadonlyMap<string, Connector>;
  },
): void {
  const agentOf = (request: FastifyRequest) =>
    authenticateAgent(deps.store, deps.config.agents, request.headers.authorization);

  app.post('/v1/events/lease', async (request) => {
    const agent = await agentOf(request);
    const { max, visibilityMs } = parseInput(leaseRequestSchema, request.body ?? {}, 'body');
    return { deliveries: await deps.dispatcher.lease(agent.name, max, visibilityMs) };
  });

  app.post<{ Params: { id: string } }>('/v1/events/:id/ack', async (request) => {
    const agent = await agentOf(request);
    const settled = await deps.dispatcher.ack(agent.name, request.params.id);
    return { delivery: settled.delivery, status: 'acked', events: settled.events };
  });

  app.post<{ Params: { id: string } }>('/v1/events/:id/nack', async (request) => {
    const agent = await agentOf(request);
    const { delayMs, reason } = parseInput(nackRequestSchema, request.body ?? {}, 'body');
    const settled = await deps.dispatcher.nack(
      agent.name,
      request.params.id,
      delayMs ?? null,
      reason ?? 'given back by the agent',
    );
    return {
      delivery: settled.delivery,
      status: settled.status,
      nextAttemptAt:
        settled.nextAttemptAt === null ? null : new Date(settled.nextAttemptAt).toISOString(),
    };
  });

  app.get<{ Params: { system: string; type: string; id: string } }>(
    '/v1/records/:system/:type/:id',
    async (request): Promise<RecordView> => {
      await agentOf(request);
      const { system, type, id } = request.params;
      return readRecordView(deps.connectors, { system, type, id }, Date.now());
    },
  );
}
