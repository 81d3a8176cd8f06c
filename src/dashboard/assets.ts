import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

// The files live in `public/` at the package root: two levels up from both src/dashboard and
// dist/dashboard, so the same code serves them from the sources and from the build.
const ROOT = new URL('../../public/', import.meta.url);

const TYPES: Record<string, string> = {
  'dashboard.css': 'text/css; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
};

/**
 * `GET /ui/assets/:file`: the dashboard's stylesheet and script, read once at start-up and
 * served from memory with an ETag, so a browser revalidates instead of downloading again. No
 * asset comes from anywhere else: the dashboard works without internet.
 */
export function registerAssets(app: FastifyInstance): void {
  const files = new Map(
    Object.entries(TYPES).map(([name, type]) => {
      const body = readFileSync(new URL(name, ROOT));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
      return [name, { body, type, etag }] as const;
    }),
  );
  app.get<{ Params: { file: string } }>('/assets/:file', async (request, reply) => {
    const file = files.get(request.params.file);
    if (!file) return reply.callNotFound();
    reply.header('etag', file.etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
    return reply.type(file.type).send(file.body);
  });
}
