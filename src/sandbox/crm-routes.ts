import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  createCrmObject,
  crmCreateSchema,
  crmTypeOfPath,
  crmUpdateSchema,
  crmUpsertSchema,
  findCrmObject,
  updateCrmObject,
  upsertCrmObjects,
} from './crm.js';
import { type FaultTable, withFaults } from './faults.js';
import { crmView } from './records.js';
import { actorOf, parseInput } from './request.js';
import type { SandboxState } from './state.js';

type TypeRequest = FastifyRequest<{ Params: { objectType: string } }>;
type ObjectRequest = FastifyRequest<{ Params: { objectType: string; id: string } }>;

const byQuery = z.object({ idProperty: z.string().min(1).optional() });

/**
 * The CRM, in HubSpot's profile: no conditional update and no idempotency key; unique
 * properties (`email`, `airlock_key`) answer a second create with 409 and the existing id, and
 * serve as lookup and upsert keys.
 */
export function registerCrmRoutes(
  app: FastifyInstance,
  deps: { state: SandboxState; faults: FaultTable },
): void {
  const { state, faults } = deps;
  const operation = (verb: string) => (request: TypeRequest) =>
    `${crmTypeOfPath(request.params.objectType)}.${verb}`;

  app.post(
    '/crm/v3/objects/:objectType',
    withFaults(faults, operation('create'), async (request: TypeRequest, reply) => {
      const type = crmTypeOfPath(request.params.objectType);
      const input = parseInput(crmCreateSchema, request.body, 'body');
      reply.code(201);
      return crmView(createCrmObject(state, type, input, actorOf(request)));
    }),
  );

  app.get(
    '/crm/v3/objects/:objectType/:id',
    withFaults(faults, operation('read'), async (request: ObjectRequest) => {
      const type = crmTypeOfPath(request.params.objectType);
      const { idProperty } = parseInput(byQuery, request.query, 'query');
      return crmView(findCrmObject(state, type, request.params.id, idProperty));
    }),
  );

  app.patch(
    '/crm/v3/objects/:objectType/:id',
    withFaults(faults, operation('update'), async (request: ObjectRequest) => {
      const type = crmTypeOfPath(request.params.objectType);
      const { idProperty } = parseInput(byQuery, request.query, 'query');
      const input = parseInput(crmUpdateSchema, request.body, 'body');
      const object = findCrmObject(state, type, request.params.id, idProperty);
      return crmView(updateCrmObject(state, object, input.properties, actorOf(request)));
    }),
  );

  app.post(
    '/crm/v3/objects/:objectType/batch/upsert',
    withFaults(faults, operation('upsert'), async (request: TypeRequest) => {
      const type = crmTypeOfPath(request.params.objectType);
      const input = parseInput(crmUpsertSchema, request.body, 'body');
      const results = upsertCrmObjects(state, type, input, actorOf(request));
      return {
        status: 'COMPLETE',
        results: results.map(({ object, created }) => ({ ...crmView(object), new: created })),
      };
    }),
  );
}
