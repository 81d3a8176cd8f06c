import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  getAction,
  type ProposalAnswer,
  type ProposeDeps,
  proposeAction,
  undoAction,
} from '../actions/index.js';
import { authenticateAgent } from '../agents/index.js';
import type { Config } from '../config.js';
import type { Store } from '../store/index.js';
import { operatorOf, requireOperator } from './operator-auth.js';

/**
 * `POST /v1/actions`, `GET /v1/actions/:id`, `GET /v1/agents/me` (agents); `POST
 * /v1/actions/:id/undo` (admin operators), answered as a proposal is.
 */
export function registerActionsRoutes(
  app: FastifyInstance,
  deps: { store: Store; config: Pick<Config, 'agents' | 'operators'>; propose: ProposeDeps },
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
      request.headers,
    );
    return send(reply, answer);
  });

  app.post<{ Params: { id: string } }>(
    '/v1/actions/:id/undo',
    { preHandler: requireOperator(deps.config.operators, 'admin') },
    async (request, reply) =>
      send(reply, await undoAction(deps.propose, request.params.id, operatorOf(request).name)),
  );

  // What the key may do: `airlock mcp` lists these as its tools.
  app.get('/v1/agents/me', async (request) => {
    const agent = await agentOf(request);
    return { name: agent.name, operations: agent.operations };
  });

  app.get<{ Params: { id: string } }>('/v1/actions/:id', async (request) => {
    const agent = await agentOf(request);
    return getAction(deps.store, request.params.id, agent.name);
  });
}

function send(reply: FastifyReply, answer: ProposalAnswer) {
  if (answer.replayed) reply.header('idempotent-replayed', 'true');
  if (answer.kind === 'error') throw answer.error;
  reply.code(answer.status);
  // Fastify's own type for a serialized object.
  if (answer.json !== undefined) return reply.type(JSON_TYPE).send(answer.json);
  return reply.send(answer.body);
}

const JSON_TYPE = 'application/json; charset=utf-8';
