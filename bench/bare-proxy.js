// The floor under bench:actions: a Fastify server that makes, for each proposal, the same two
// calls to the sandbox as Airlock (read the ticket, then write it on that revision) with
// Airlock's own HTTP client, and nothing else: no auth, idempotency key, checks, policy, store
// or audit. What it costs is what any gateway with a read before its write costs here.
import Fastify from 'fastify';
import { createSandboxHttp } from '../dist/connectors/sandbox/http.js';

const [port, sandboxUrl] = process.argv.slice(2);
const http = createSandboxHttp({ url: sandboxUrl, timeoutMs: 5000, actor: 'bare-proxy' });
const app = Fastify();
let sequence = 0;

app.get('/healthz', async () => ({ status: 'ok' }));

app.post('/v1/actions', async (request, reply) => {
  const { target, params, basis } = request.body;
  const read = await http.call('GET', `/api/tickets/${target.id}`);
  if (read.kind !== 'response' || read.status !== 200) return reply.code(502).send({});
  const { ticket } = read.body;
  if (String(ticket.revision) !== basis.revision) {
    return reply.code(409).send({ currentRevision: ticket.revision, current: ticket });
  }
  sequence += 1;
  const action = `bare_${sequence}`;
  const written = await http.call('PUT', `/api/tickets/${target.id}`, {
    body: { status: params.status, expectedRevision: ticket.revision },
    actionId: action,
  });
  if (written.kind !== 'response' || written.status !== 200) return reply.code(502).send({});
  const after = written.body.ticket;
  return {
    action,
    status: 'executed',
    effect: { revision: String(after.revision), after: { status: after.status } },
  };
});

await app.listen({ port: Number(port), host: '127.0.0.1' });
