import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, inject } from 'vitest';
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

/** What `useTestStores` gives a test: its database, and what it opens closed after it. */
export interface TestStores {
  /** The test's database, made at first use and dropped after the test. */
  readonly database: TestDatabase;
  /** Opens a store on the test's database (a new connection each call), closed after the test. */
  open(): Promise<Store>;
  /** Closes `opened` after the test, before whatever was opened earlier. */
  closedAfter<T extends { close(): Promise<void> }>(opened: T): T;
  /** Ends `opened` with `close` after the test, before whatever was opened earlier. */
  closedAfter<T>(opened: T, close: (opened: T) => unknown): T;
}

/**
 * A fresh database of `backend` for each test of the calling `describe`. After each test what it
 * opened is closed, last opened first, and the database dropped: also when the test failed
 * halfway, and with no `try` in the test.
 */
export function useTestStores(backend: Backend): TestStores {
  let database: TestDatabase | undefined;
  let closers: (() => unknown)[] = [];
  afterEach(async () => {
    const closing = closers.reverse();
    closers = [];
    try {
      for (const close of closing) await close();
    } finally {
      await database?.drop();
      database = undefined;
    }
  });
  const closedAfter = <T>(opened: T, close?: (opened: T) => unknown): T => {
    closers.push(() => (close ? close(opened) : (opened as { close(): Promise<void> }).close()));
    return opened;
  };
  const current = () => {
    database ??= createTestDatabase(backend);
    return database;
  };
  return {
    get database() {
      return current();
    },
    open: async () => closedAfter(await current().open()),
    closedAfter,
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
