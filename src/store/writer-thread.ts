import type { Worker } from 'node:worker_threads';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { startThread } from './thread.js';
import { restartWalIfAsked, type WalRestartFlag, walRestartFlag } from './wal-restart.js';
import { endTurnsOnExit, takeTurn, type WriteTurns, writeTurns } from './write-turns.js';

/*
 * What the writer threads of one SQLite file (the op runner's and the inbox's) do alike: each
 * batch waits for the thread's turn at the write lock (write-turns.ts), and after its commit
 * starts the WAL over when the checkpoint thread asked (wal-restart.ts).
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
