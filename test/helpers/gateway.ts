import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from '../../src/config.js';
import type { Ingestor } from '../../src/ingest/index.js';
import { assembleGateway, type GatewayModules } from '../../src/main.js';
import type { Store } from '../../src/store/index.js';
import { type Backend, useTestStores } from './stores.js';
import { DEMO_SECRET } from './webhooks.js';

/** The operator token test configs accept, with the admin role. */
export const ADMIN_TOKEN = 'test-admin-token';
export const VIEWER_TOKEN = 'test-viewer-token';
/** Operator `ana`, who may decide approvals. */
export const APPROVER_TOKEN = 'test-approver-token';

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A config for tests: the given store, a `demo` Standard Webhooks source, three operators. */
export function testConfig(storeUrl: string, values: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: {},
    values: {
      store: { url: storeUrl },
      log: { level: 'silent' },
      operators: {
        root: { role: 'admin', tokenSha256: sha256(ADMIN_TOKEN) },
        watcher: { role: 'viewer', tokenSha256: sha256(VIEWER_TOKEN) },
        ana: { role: 'approver', tokenSha256: sha256(APPROVER_TOKEN) },
      },
      sources: { demo: { scheme: 'standard-webhooks', secrets: [DEMO_SECRET] } },
      ...values,
    },
  });
}

export interface TestApp extends GatewayModules {
  readonly app: FastifyInstance;
  readonly ingestor: Ingestor;
}

/** The whole gateway over an open store, not listening (use `app.inject`). */
export async function createTestApp(
  store: Store,
  config: Config,
  options: Parameters<typeof assembleGateway>[2] = {},
): Promise<TestApp> {
  const modules = await assembleGateway(config, store, options);
  await modules.app.ready();
  return modules;
}

/**
 * For a `describe` block: returns `start(values)`, which opens a store on the test's own
 * database and assembles a gateway over it with `testConfig(url, values)`. Every gateway and
 * store is closed, and the database dropped, after each test.
 */
export function useTestGateways(
  backend: Backend,
): (values?: Record<string, unknown>) => Promise<TestApp & { store: Store }> {
  const stores = useTestStores(backend);
  return async (values = {}) => {
    const store = await stores.open();
    const config = testConfig(stores.database.url, values);
    const testApp = stores.closedAfter(await createTestApp(store, config));
    return { ...testApp, store };
  };
}
