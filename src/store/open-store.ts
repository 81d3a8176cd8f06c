import { sql } from 'kysely';
import { AppError } from '../errors.js';
import { migrate } from './migrate.js';
import { createSqliteStore } from './sqlite.js';
import type { Store } from './store.js';

export interface OpenStoreOptions {
  /** PostgreSQL connections per instance. Default 10. */
  readonly poolSize?: number;
  /** Bring the schema up to date first. Default true; a second connection of one process skips it. */
  readonly migrate?: boolean;
  /**
   * Make a PostgreSQL store that is not there yet (its schema, its tables). Default true; false
   * for a command that only reads one, which throws `store-not-found` instead.
   */
  readonly create?: boolean;
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

/** The file of a SQLite store; throws for another. */
export function sqliteFile(store: Pick<Store, 'url'>): string {
  const path = sqlitePath(store.url);
  if (path === null) throw new Error(`not a SQLite store: ${shown(store.url)}`);
  return path;
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

/** Whether a PostgreSQL store's tables are there (in its schema, from `search_path`). */
async function hasTables(store: Store): Promise<boolean> {
  if (store.dialect !== 'postgres') return true;
  const { rows } = await sql<{ found: string | null }>`
    select to_regclass('airlock_migrations')::text as found`.execute(store.db);
  return rows[0]?.found != null;
}

/**
 * pg, loaded only for a PostgreSQL store: a process on SQLite (and its writer thread,
 * whose ops import the store's modules) does not hold it.
 */
async function openPostgresStore(url: string, poolSize: number, create: boolean): Promise<Store> {
  const { createPostgresStore } = await import('./postgres.js');
  return createPostgresStore(url, poolSize, { createSchema: create });
}

async function open(url: string, options: OpenStoreOptions): Promise<Store> {
  const path = sqlitePath(url);
  const create = options.create ?? true;
  const store =
    path !== null
      ? createSqliteStore(path)
      : await openPostgresStore(url, options.poolSize ?? 10, create);
  if (options.migrate === false) return store;
  try {
    if (!create && !(await hasTables(store))) {
      throw new AppError('store-not-found', 404, `no store at ${shown(url)} (no Airlock tables)`);
    }
    await migrate(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
