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
    // Fastify answers 415 before any route for a Content-Type it cannot parse ("", "text",
    // "a/b/c") or none with a body: the provider would retry an event no scheme ever saw. The
    // body is bytes whatever it is labelled, so Fastify is shown one type; the scheme and the
    // stored headers get the one that came.
    hooks.addHook('onRequest', async (request) => {
      sentContentType.set(request.raw, request.headers['content-type']);
      request.headers['content-type'] = 'application/octet-stream';
    });
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser(
      'application/octet-stream',
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

/** The Content-Type each webhook request came with (see the `onRequest` hook). */
const sentContentType = new WeakMap<FastifyRequest['raw'], string | undefined>();

function toWebhookRequest(
  request: FastifyRequest,
  configuredUrl: string | undefined,
): WebhookRequest {
  const headers: Record<string, string> = {};
  const sent = { ...request.headers, 'content-type': sentContentType.get(request.raw) };
  for (const [name, value] of Object.entries(sent)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return {
    method: request.method,
    url: configuredUrl ?? `${request.protocol}://${request.host}${request.url}`,
    headers,
    body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
  };
}
