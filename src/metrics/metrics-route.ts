import type { FastifyInstance } from 'fastify';
import type { Metrics } from './metrics.js';

/**
 * `GET /metrics`: the registry in the Prometheus text format. Unauthenticated, like `/healthz`,
 * since scrapers rarely carry tokens; it names sources, systems and operations but no records.
 */
export function registerMetricsRoute(app: FastifyInstance, deps: { metrics: Metrics }): void {
  const { registry } = deps.metrics;
  app.get('/metrics', async (_request, reply) => {
    // Rendered before the header is set, so a failure is answered as a problem, not as metrics.
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
}
