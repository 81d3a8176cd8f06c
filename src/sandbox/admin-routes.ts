import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type Chaos, reportChaos } from './chaos.js';
import { type FaultTable, faultSchema } from './faults.js';
import { parseInput } from './request.js';
import { seedRecords, seedSchema } from './seed.js';
import type { SandboxState } from './state.js';
import type { WebhookSender } from './webhook-delivery.js';

const writesQuery = z.object({ since: z.coerce.number().int().nonnegative().optional() });

/**
 * Test and demo controls under `/_`: faults, chaos counts, seeding, the log of applied writes and
 * of webhook deliveries. They are not fault-injected (or chaotic) themselves.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  deps: { state: SandboxState; faults: FaultTable; sender: WebhookSender; chaos: Chaos | null },
): void {
  const { state, faults, sender, chaos } = deps;

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.post('/_faults', async (request, reply) => {
    const fault = faults.add(parseInput(faultSchema, request.body, 'body'));
    reply.code(201);
    return fault;
  });
  app.get('/_faults', async () => ({ faults: faults.list() }));
  app.delete('/_faults', async (_request, reply) => {
    faults.clear();
    return reply.code(204).send();
  });

  app.get('/_chaos', async () => reportChaos(chaos));

  app.post('/_seed', async (request, reply) => {
    const seeded = seedRecords(state, parseInput(seedSchema, request.body, 'body'));
    reply.code(201);
    return seeded;
  });

  app.get('/_writes', async (request) => {
    const { since = 0 } = parseInput(writesQuery, request.query, 'query');
    const writes = state.writes.filter((write) => write.seq > since);
    // Writes after `since` that are no longer kept (see `keep` of createSandbox).
    const firstKept = writes[0]?.seq ?? state.writeCount + 1;
    return { writes, dropped: Math.max(0, firstKept - 1 - since) };
  });

  app.get('/_deliveries', async () => ({ deliveries: sender.list() }));
}
