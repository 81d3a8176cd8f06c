import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { type Ingestor, schemes, type WebhookRequest } from '../ingest/index.js';

/**
 * `POST /hooks/:source`. Bodies are taken as raw bytes whatever their content type, refused with
 * 413 as soon as they pass the limit while streaming, and answered only after the commit: with
 * JSON, or with HTTP 200 and the scheme's fixed body when it has `acknowledge()` (Salesforce).
 */
export async function registerHooksRoute(
  app: FastifyInstance,
  deps: { ingestor: Ingestor; config: Pick<Config, 'sources' | 'ingest'> },
): Promise<void> {
  await app.register(async (hooks) => {
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser(
      '*',
      { parseAs: 'buffer', bodyLimit: deps.config.ingest.bodyLimit },
      (_request, body, done) => done(null, body),
    );
    hooks.post<{ Params: { source: string } }>('/hooks/:source', async (request, reply) => {
      const { source } = request.params;
      const result = await deps.ingestor.ingest(
        source,
        toWebhookRequest(request, deps.config.sources[source]?.url),
      );
      // ingest() has thrown for an unknown source, so the source is configured here.
      const scheme = deps.config.sources[source]?.scheme;
      const acknowledgement = scheme ? schemes[scheme].acknowledge?.() : undefined;
      if (acknowledgement) {
        return reply.code(200).type(acknowledgement.contentType).send(acknowledgement.body);
      }
      const [first] = result.events;
      return reply.code(result.duplicate ? 200 : 202).send({
        event: first?.id,
        duplicate: result.duplicate,
        ...(result.events.length > 1
          ? { events: result.events.map((e) => ({ event: e.id, duplicate: e.duplicate })) }
          : {}),
      });
    });
  });
}

function toWebhookRequest(
  request: FastifyRequest,
  configuredUrl: string | undefined,
): WebhookRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: request.method,
    url: configuredUrl ?? `${request.protocol}://${request.host}${request.url}`,
    headers,
    body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
  };
}
