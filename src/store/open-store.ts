import { AppError } from '../errors.js';
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

/**
 * Opens the store named by `url` (`sqlite:PATH` or `postgres://…`) and brings its schema up to
 * date. Throws `store-unavailable` naming the store (its password left out) and the reason.
 */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  try {
    return await open(url, options);
  } catch (error) {
    if (error instanceof AppError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new AppError('store-unavailable', 503, `cannot open the store ${shown(url)}: ${reason}`, {
      cause: error,
    });
  }
}

/** The file of a `sqlite:PATH` store URL; null for another store. */
export function sqlitePath(url: string): string | null {
  return url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : null;
}

/** A store URL as it may be shown: without its password. */
function shown(url: string): string {
  if (sqlitePath(url) !== null) return url;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.href;
  } catch {
    return '(an unreadable URL)';
  }
}

async function open(url: string, options: OpenStoreOptions): Promise<Store> {
  const path = sqlitePath(url);
  const store =
    path !== null
      ? createSqliteStore(path)
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
