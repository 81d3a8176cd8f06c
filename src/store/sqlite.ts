import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/**
 * A connection to a SQLite file (created if needed) in WAL mode with `synchronous=FULL`: every
 * commit is fsynced to the WAL before it returns, so a committed row survives a crash or a power
 * cut. For code that needs better-sqlite3 itself (the inbox writer thread); the rest uses a Store.
 */
export function openSqliteConnection(path: string): SqliteDatabase.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  // Another connection (the inbox writer, the CLI, a second gateway) may hold the write lock
  // briefly; wait for it.
  database.pragma('busy_timeout = 5000');
  return database;
}

/** A Store over a SQLite file; see `openSqliteConnection` for its durability. */
export function createSqliteStore(path: string): Store {
  const database = openSqliteConnection(path);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });

  return {
    db,
    dialect: 'sqlite',
    url: `sqlite:${path}`,
    transaction: (fn) =>
      db.connection().execute(async (connection) => {
        await sql`begin immediate`.execute(connection);
        try {
          const result = await fn(connection);
          await sql`commit`.execute(connection);
          return result;
        } catch (error) {
          await sql`rollback`.execute(connection);
          throw error;
        }
      }),
    ping: async () => {
      await sql`select 1`.execute(db);
      return true;
    },
    close: () => db.destroy(),
  };
}
