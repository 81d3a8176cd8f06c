import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from '../../src/config.js';
import { createServer } from '../../src/http/index.js';
import { createIngestor, type Ingestor } from '../../src/ingest/index.js';
import type { Store } from '../../src/store/index.js';
import { DEMO_SECRET } from './webhooks.js';

/** The operator token test configs accept, with the admin role. */
export const ADMIN_TOKEN = 'test-admin-token';
export const VIEWER_TOKEN = 'test-viewer-token';

/** A config for tests: the given store, a `demo` Standard Webhooks source, two operators. */
export function testConfig(storeUrl: string, values: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: {},
    values: {
      store: { url: storeUrl },
      log: { level: 'silent' },
      operators: {
        root: { role: 'admin', tokenSha256: sha256(ADMIN_TOKEN) },
        watcher: { role: 'viewer', tokenSha256: sha256(VIEWER_TOKEN) },
      },
      sources: { demo: { scheme: 'standard-webhooks', secrets: [DEMO_SECRET] } },
      ...values,
    },
  });
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly ingestor: Ingestor;
  /** Closes the app and the ingestor; the store stays open. */
  close(): Promise<void>;
}

/** The gateway's HTTP app over an open store, not listening (use `app.inject`). */
export async function createTestApp(
  store: Store,
  config: Config,
  now?: () => number,
): Promise<TestApp> {
  const ingestor = createIngestor({ store, config, ...(now ? { now } : {}) });
  const app = await createServer({ config, store, ingestor });
  await app.ready();
  return {
    app,
    ingestor,
    close: async () => {
      await app.close();
      await ingestor.close();
    },
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

import { createHash } from 'node:crypto';
