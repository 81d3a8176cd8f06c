import type { Worker } from 'node:worker_threads';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { openSqliteConnection } from './sqlite-connection.js';
import { startThread } from './thread.js';
import { restartWalIfAsked, type WalRestartFlag, walRestartFlag } from './wal-restart.js';
import { endTurnsOnExit, takeTurn, type WriteTurns, writeTurns } from './write-turns.js';

/*
 * What the writer threads of one SQLite file (the op runner's and the inbox's) do alike: they
 * open their connection the same way, each batch waits for the thread's turn at the write lock
 * (write-turns.ts), and after its commit starts the WAL over when the checkpoint thread asked
 * (wal-restart.ts).
 */

/** The memory a writer thread shares with the others of its file, in its `workerData`. */
export interface WriterShared {
  readonly restartFlag: WalRestartFlag;
  readonly turns: WriteTurns;
}

/** The shared memory of the SQLite file `path`'s writer threads (main thread only). */
export function writerShared(path: string): WriterShared {
  return { restartFlag: walRestartFlag(path), turns: writeTurns(path) };
}

/** Starts a writer thread (see `startThread`); a turn it holds when it ends goes to the next. */
export function startWriterThread(entry: URL, data: WriterShared): Worker {
  const thread = startThread(entry, data);
  endTurnsOnExit(thread, data.turns);
  return thread;
}

/**
 * In a writer thread: its connection to `path`. Checkpoints are the checkpoint thread's
 * (checkpointer.ts). A writer's statement journals, which let a savepoint (one per op of a
 * batch) or a statement be undone alone, stay in memory. SQLite spills one past 64 KiB to a
 * temporary file: at 800 proposals a second the op writer created, wrote and deleted such files
 * dozens of times a second; with the journals in memory its time in the kernel fell by a sixth.
 * A journal holds at most the pages a batch changes.
 */
export function openWriterConnection(path: string): SqliteDatabase {
  const connection = openSqliteConnection(path);
  connection.pragma('wal_autocheckpoint = 0');
  connection.pragma('temp_store = MEMORY');
  return connection;
}

/**
 * In a writer thread: runs `write` (a whole transaction on `connection`) in this thread's turn,
 * then starts the WAL over if asked; what `write` answered.
 */
export async function writeInTurn<T>(
  connection: SqliteDatabase,
  shared: WriterShared,
  write: () => T | Promise<T>,
): Promise<T> {
  const endTurn = takeTurn(shared.turns);
  try {
    const written = await write();
    restartWalIfAsked(connection, shared.restartFlag);
    return written;
  } finally {
    endTurn();
  }
}
