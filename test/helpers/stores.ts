import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { openStore, type Store } from '../../src/store/index.js';

export interface TestDatabase {
  /** The store URL, for subprocesses and second instances. */
  readonly url: string;
  /** Opens a store on this database (migrated); each call is a new connection, like a new instance. */
  open(): Promise<Store>;
  /** Removes the database; closes nothing opened by `open()`. */
  drop(): Promise<void>;
}

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

/** A fresh, empty database of the given kind: a new SQLite file, or a new PostgreSQL schema. */
export function createTestDatabase(backend: Backend): TestDatabase {
  if (backend === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-test-'));
    const url = `sqlite:${join(dir, 'airlock.db')}`;
    return {
      url,
      open: () => openStore(url),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const base = inject('postgresUrl');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const url = `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`;
  return {
    url,
    open: () => openStore(url, { poolSize: 20 }),
    drop: async () => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Row count of a table, for assertions. */
export async function countRows(
  store: Store,
  table: 'events' | 'webhook_requests',
): Promise<number> {
  const result = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(
    store.db,
  );
  return Number(result.rows[0]?.n);
}
