// The baseline for bench:ingest: a Fastify route that parses the JSON body and answers 202.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/healthz', async () => ({ status: 'ok' }));
app.post('/hooks/:source', async (_request, reply) =>
  reply.code(202).send({ event: 'evt', duplicate: false }),
);
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) });
