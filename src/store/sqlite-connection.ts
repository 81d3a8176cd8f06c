import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';

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
