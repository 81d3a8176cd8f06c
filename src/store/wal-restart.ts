import { resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { sharedInt32 } from './shared-memory.js';
import { BUSY_TIMEOUT_MS } from './sqlite-connection.js';

/*
 * SQLite writes its WAL from the start again only when a write begins after everything in the
 * WAL has been copied into the database file. Under steady writes the checkpoint thread's
 * passive checkpoints never catch up with the commits made while they copy, and the WAL grew
 * without end: over a gigabyte in three 10 s runs of `bench:actions`' half load, every read
 * searching an index of it that grew as well. A RESTART checkpoint catches up (it holds new
 * writes back) and has the next write start the WAL over; run by the checkpoint thread, it
 * waits for the write lock in the gaps between a busy writer's transactions (over half a second
 * in a test) while the WAL grows on. So the checkpoint thread asks, and the writer thread
 * (sqlite-writer.ts), between two of its batches, does it.
 *
 * The request is a flag in memory shared by the threads of one store file in this process,
 * beside the number of restarts in a row that gave up waiting for a long read.
 */

const IDLE = 0;
const ASKED = 1;
const RESTARTING = 2;

/** The cells: the request's state, and the restarts in a row that gave up. */
const STATE = 0;
const GAVE_UP = 1;

/** The flag shared by the threads of one SQLite file, passed to each in its `workerData`. */
export type WalRestartFlag = Int32Array<SharedArrayBuffer>;

/**
 * The flag of the SQLite file `path`, one per file in this process however its path is written
 * (main thread only).
 */
export function walRestartFlag(path: string): WalRestartFlag {
  return sharedInt32(`wal-restart:${resolve(path)}`, 2);
}

/** The checkpoint thread: the WAL is long; the writer has it start over after its next batch. */
export function askWalRestart(flag: WalRestartFlag): void {
  Atomics.compareExchange(flag, STATE, IDLE, ASKED);
}

/** How many restarts in a row gave up waiting for readers (0 after one that did its work). */
export function restartsGivenUp(flag: WalRestartFlag): number {
  return Atomics.load(flag, GAVE_UP);
}

/**
 * The writer thread, after a batch's commit: when asked, checkpoints what the WAL holds beyond
 * the last checkpoint and waits for readers to leave it, so that the next write starts it over.
 * Never throws: the batch has committed and its callers are told so; a restart that failed
 * leaves the WAL long, and the checkpoint thread asks again.
 */
export function restartWalIfAsked(connection: SqliteDatabase, flag: WalRestartFlag): void {
  if (Atomics.compareExchange(flag, STATE, ASKED, RESTARTING) !== ASKED) return;
  let done = false;
  try {
    // The restart holds new writes back while it waits for readers to leave the WAL. The
    // gateway's reads take milliseconds; a long one (`airlock audit verify` over a large log)
    // held every write up for the whole busy timeout. It waits this long at most, then lets the
    // WAL grow until the checkpoint thread asks again.
    connection.pragma(`busy_timeout = ${RESTART_WAIT_MS}`);
    // Busy also, at once, while the checkpoint thread's own pass holds the checkpoint lock: that
    // counts as a give-up too, and the next request comes after one more look.
    const [result] = connection.pragma('wal_checkpoint(RESTART)') as { busy: number }[];
    done = result?.busy === 0;
  } catch {
    // As above: the next request tries again.
  } finally {
    try {
      connection.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    } catch {
      // A connection that cannot take a pragma fails its next batch, which says why.
    }
    if (done) Atomics.store(flag, GAVE_UP, 0);
    else Atomics.add(flag, GAVE_UP, 1);
    Atomics.store(flag, STATE, IDLE);
  }
}

/**
 * Has a restart under way when `thread` ends (its isolate killed mid-restart) count as over, so
 * that the checkpoint thread can ask for the next: left as under way, none would ever be asked
 * again, and the WAL would grow without end. Main thread, for each writer thread it starts.
 */
export function endRestartOnExit(thread: Worker, flag: WalRestartFlag): void {
  thread.once('exit', () => {
    Atomics.compareExchange(flag, STATE, RESTARTING, IDLE);
  });
}

/** How long a restart waits for readers to leave the WAL before it gives up. */
const RESTART_WAIT_MS = 100;
