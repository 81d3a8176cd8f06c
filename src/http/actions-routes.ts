import type { FastifyInstance, FastifyRequest } from 'fastify';
import { getAction, type ProposeDeps, proposeAction } from '../actions/index.js';
import { authenticateAgent } from '../agents/index.js';
import type { Config } from '../config.js';
import type { Store } from '../store/index.js';

/** `POST /v1/actions`, `GET /v1/actions/:id` (agents). */
export function registerActionsRoutes(
  app: FastifyInstance,
  deps: { store: Store; config: Pick<Config, 'agents'>; propose: ProposeDeps },
): void {
  const agentOf = (request: FastifyRequest) =>
    authenticateAgent(deps.store, deps.config.agents, request.headers.authorization);

  app.post('/v1/actions', async (request, reply) => {
    const agent = await agentOf(request);
    const key = request.headers['idempotency-key'];
    const answer = await proposeAction(
      deps.propose,
      agent,
      Array.isArray(key) ? key[0] : key,
      request.body,
    );
    if (answer.replayed) reply.header('idempotent-replayed', 'true');
    if (answer.kind === 'error') throw answer.error;
    return reply.code(answer.status).send(answer.body);
  });

  app.get<{ Params: { id: string } }>('/v1/actions/:id', async (request) => {
    const agent = await agentOf(request);
    return getAction(deps.store, request.params.id, agent.name);
  });
}
