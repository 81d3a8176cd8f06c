import { resolve } from 'node:path';
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { moduleHref, startThread, type ThreadClient, threadClient } from './thread.js';
import { endRestartOnExit, type WalRestartFlag, walRestartFlag } from './wal-restart.js';

/*
 * Every write of this process to a SQLite file, but for CLI commands and migrations, goes through
 * one thread with one connection: the inbox's batches of webhooks and the op runner's batches of
 * ops, one after the other in the order they were sent. better-sqlite3 is synchronous; there a
 * commit's fsync stops only that thread, not the event loop.
 *
 * They used to have a thread each, which took turns at SQLite's write lock (left to SQLite's busy
 * handler, the one that found the lock held slept while the other took it again: proposals
 * beside 2,000 webhooks a second waited 419.6 ms at p99). One thread needs no turns, holds one
 * isolate less in memory, and leaves one thread less to wait for the machine's cores.
 */

/**
 * A kind of batch the writer thread runs: `module` (a URL the thread can import; see
 * `moduleHref`) exports `name`, a `WriterJobFactory`, which the thread calls once with its
 * connection and `options` (plain data) to make the function that runs each batch.
 */
export interface WriterJob {
  readonly module: string;
  readonly name: string;
  readonly options?: unknown;
}

/**
 * Makes, in the writer thread, the function that runs a job's batches on `connection`: each call
 * is one whole transaction (or several), and what it answers crosses back to the caller.
 */
export type WriterJobFactory = (
  connection: SqliteDatabase,
  options: unknown,
) => WriterJobRunner | Promise<WriterJobRunner>;
export type WriterJobRunner = (batch: unknown) => unknown;

/** What the writer thread is started with. */
export interface WriterThreadData {
  readonly path: string;
  readonly restartFlag: WalRestartFlag;
}

/** A request to the writer thread. */
export interface WriterRequest {
  readonly job: WriterJob;
  readonly batch: unknown;
}

/** The writer of one SQLite file, shared by its users in this process. */
export interface SqliteWriter {
  /** Runs `batch` as `job` in the writer thread, after the batches sent before it. */
  run(job: WriterJob, batch: unknown): Promise<unknown>;
  /** This user is done with it; the thread stops when its last user is (waits for that). */
  release(): Promise<void>;
}

interface Shared {
  readonly data: WriterThreadData;
  users: number;
  thread: ThreadClient<WriterRequest> | null;
}

/** The writers in use in this process, by file. */
const writers = new Map<string, Shared>();

/**
 * A user's handle on the writer of the SQLite file `path` (main thread only). The thread starts
 * with the first batch: a process that never writes (a CLI command that reads) does not pay for
 * its isolate. Should it die (an out-of-memory kill of its isolate, a native crash), the batches
 * it held fail their callers, who may retry, and the next batch starts another.
 */
export function sqliteWriter(path: string): SqliteWriter {
  // One writer per file, however its path is written (`./x.db`, `x.db`, `/abs/x.db`).
  const file = resolve(path);
  let shared = writers.get(file);
  if (!shared) {
    shared = { data: { path, restartFlag: walRestartFlag(path) }, users: 0, thread: null };
    writers.set(file, shared);
  }
  const mine = shared;
  mine.users += 1;
  let released = false;
  return {
    run(job, batch) {
      if (released) return Promise.reject(new Error(`the writer of ${path} was released`));
      if (mine.thread?.failed) mine.thread = null;
      mine.thread ??= startWriter(mine.data);
      return mine.thread.request({ job, batch });
    },
    async release() {
      if (released) return;
      released = true;
      mine.users -= 1;
      if (mine.users > 0) return;
      writers.delete(file);
      await mine.thread?.close();
    },
  };
}

function startWriter(data: WriterThreadData): ThreadClient<WriterRequest> {
  const thread = startThread(new URL('./sqlite-writer-thread.js', import.meta.url), data);
  endRestartOnExit(thread, data.restartFlag);
  return threadClient(thread, 'SQLite writer');
}

/** The job named `name` that `compiled` (`new URL('./x.js', import.meta.url)`) exports. */
export function writerJob(compiled: URL, name: string, options?: unknown): WriterJob {
  return { module: moduleHref(compiled), name, options };
}
