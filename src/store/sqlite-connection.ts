import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';

/**
 * A connection to a SQLite file (created if needed) in WAL mode with `synchronous=FULL`: every
 * commit is fsynced to the WAL before it returns, so a committed row survives a crash or a power
 * cut. For code that needs better-sqlite3 itself (the writer thread); the rest uses a Store.
 */
export function openSqliteConnection(path: string): SqliteDatabase.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SqliteDatabase(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  // Another connection (the writer thread, the CLI, a second gateway) may hold the write lock
  // briefly; wait for it.
  database.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // When a write starts the WAL over (wal-restart.ts), a WAL file grown past this (while a long
  // read kept it from starting over) is cut back to it.
  database.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`);
  return database;
}

/**
 * The writer thread's connection (sqlite-writer.ts). Checkpoints are the checkpoint thread's
 * (checkpointer.ts). Its statement journals, which let a savepoint (one per op of a batch) or a
 * statement be undone alone, stay in memory. SQLite spills one past 64 KiB to a temporary file:
 * at 800 proposals a second the writer created, wrote and deleted such files dozens of times a
 * second; with the journals in memory its time in the kernel fell by a sixth. A journal holds at
 * most the pages a batch changes.
 *
 * Its page cache is 4 MB, not better-sqlite3's 16. The writer mostly appends, at the right edge
 * of each table and index, and looks up single keys; a page it no longer holds is read again from
 * the operating system's cache. Filled to 16 MB within seconds of taking webhooks, the cache put
 * the gateway's peak RSS over 200 MB (201–206 MB, `npm run bench:ingest`); at 4 MB it was 187–196
 * MB, at the same rate.
 */
export function openWriterConnection(path: string): SqliteDatabase.Database {
  const connection = openSqliteConnection(path);
  connection.pragma('wal_autocheckpoint = 0');
  connection.pragma('temp_store = MEMORY');
  connection.pragma(`cache_size = -${WRITER_CACHE_KIB}`);
  return connection;
}

/** The writer's page cache, in KiB (a negative `cache_size` is KiB). */
const WRITER_CACHE_KIB = 4000;

const WAL_SIZE_LIMIT = 128 * 1024 * 1024;

/** How long a connection waits for a lock another holds before it fails with SQLITE_BUSY. */
export const BUSY_TIMEOUT_MS = 5_000;
