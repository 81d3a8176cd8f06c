import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type FaultTable, withFaults } from './faults.js';
import { applyDiscount, cancelOrder, cancelSchema, discountSchema, findOrder } from './orders.js';
import { orderView } from './records.js';
import { actorOf, parseInput } from './request.js';
import type { SandboxState } from './state.js';

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** Orders: cancel and discount at an expected revision; discounts idempotent by `airlock_key`. */
export function registerOrderRoutes(
  app: FastifyInstance,
  deps: { state: SandboxState; faults: FaultTable },
): void {
  const { state, faults } = deps;

  app.get(
    '/orders/:id',
    withFaults(
      faults,
      () => 'order.read',
      async (request: IdRequest) => ({
        order: orderView(findOrder(state, request.params.id)),
      }),
    ),
  );

  app.post(
    '/orders/:id/cancel',
    withFaults(
      faults,
      () => 'order.cancel',
      async (request: IdRequest) => {
        const input = parseInput(cancelSchema, request.body, 'body');
        const { order, changes } = cancelOrder(state, request.params.id, input, actorOf(request));
        return { order: orderView(order), changes };
      },
    ),
  );

  app.post(
    '/orders/:id/discounts',
    withFaults(
      faults,
      () => 'order.discount',
      async (request: IdRequest, reply) => {
        const input = parseInput(discountSchema, request.body, 'body');
        const result = applyDiscount(state, request.params.id, input, actorOf(request));
        reply.code(result.created ? 201 : 200);
        return {
          order: orderView(result.order),
          discount: { ...result.discount },
          new: result.created,
          changes: result.changes,
        };
      },
    ),
  );
}
