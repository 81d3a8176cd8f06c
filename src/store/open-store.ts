import { migrate } from './migrate.js';
import { createPostgresStore } from './postgres.js';
import { createSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** PostgreSQL connections per instance. Default 10. */
  readonly poolSize?: number;
  /** Bring the schema up to date first. Default true; a second connection of one process skips it. */
  readonly migrate?: boolean;
}

/** Opens the store named by `url` (`sqlite:PATH` or `postgres://…`) and brings its schema up to date. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const store = url.startsWith('sqlite:')
    ? createSqliteStore(url.slice('sqlite:'.length))
    : await createPostgresStore(url, options.poolSize ?? 10);
  if (options.migrate === false) return store;
  try {
    await migrate(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
