import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { canonicalDigest } from '../canonical-json.js';
import { AppError } from '../errors.js';
import type { FaultTable } from './faults.js';
import { withFaults } from './faults.js';
import {
  createTicket,
  listComments,
  ticketCreateSchema,
  ticketUpdateSchema,
  updateTicket,
} from './helpdesk.js';
import type { IdempotencyCache } from './idempotency.js';
import { ticketView } from './records.js';
import { actorOf, notFound, parseInput } from './request.js';
import type { SandboxState } from './state.js';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

const idempotencyKey = z.string().trim().min(1).max(255);
const listQuery = z.object({ external_id: z.string().min(1).optional() });
const commentsQuery = z.object({ marker: z.string().min(1).optional() });

/** The helpdesk, in Zendesk's profile: conditional ticket updates, idempotent ticket creates. */
export function registerHelpdeskRoutes(
  app: FastifyInstance,
  deps: { state: SandboxState; faults: FaultTable; idempotency: IdempotencyCache },
): void {
  const { state, faults, idempotency } = deps;

  app.post(
    '/api/tickets',
    withFaults(
      faults,
      () => 'ticket.create',
      async (request, reply) => {
        const input = parseInput(ticketCreateSchema, request.body, 'body');
        const rawKey = request.headers['idempotency-key'];
        const key =
          rawKey === undefined ? null : parseInput(idempotencyKey, rawKey, 'Idempotency-Key');
        // The same content with its keys in another order is the same request.
        const fingerprint = canonicalDigest(request.body);
        if (key !== null) {
          const found = idempotency.lookup(key, fingerprint);
          if (found.kind === 'mismatch') {
            throw new AppError(
              'idempotency-key-reuse',
              422,
              'this Idempotency-Key was used with a different request body',
            );
          }
          if (found.kind === 'hit') {
            reply.header('x-idempotency-lookup', 'hit').code(found.response.status);
            return found.response.body;
          }
        }
        const result = createTicket(state, input, actorOf(request));
        if (key !== null) {
          idempotency.remember(key, fingerprint, { status: 201, body: result });
          reply.header('x-idempotency-lookup', 'miss');
        }
        reply.code(201);
        return result;
      },
    ),
  );

  app.get(
    '/api/tickets',
    withFaults(
      faults,
      () => 'ticket.list',
      async (request) => {
        const query = parseInput(listQuery, request.query, 'query');
        const tickets = [...state.tickets.values()].filter(
          (ticket) => query.external_id === undefined || ticket.externalId === query.external_id,
        );
        return { tickets: tickets.map(ticketView) };
      },
    ),
  );

  app.get(
    '/api/tickets/:id',
    withFaults(
      faults,
      () => 'ticket.read',
      async (request: IdRequest) => {
        const ticket = state.tickets.get(request.params.id);
        if (!ticket) throw notFound('ticket', request.params.id);
        return { ticket: ticketView(ticket) };
      },
    ),
  );

  app.put(
    '/api/tickets/:id',
    withFaults(
      faults,
      () => 'ticket.update',
      async (request: IdRequest) => {
        const input = parseInput(ticketUpdateSchema, request.body, 'body');
        return updateTicket(state, request.params.id, input, actorOf(request));
      },
    ),
  );

  app.get(
    '/api/tickets/:id/comments',
    withFaults(
      faults,
      () => 'ticket.comments',
      async (request: IdRequest) => {
        const query = parseInput(commentsQuery, request.query, 'query');
        return { comments: listComments(state, request.params.id, query.marker) };
      },
    ),
  );
}
