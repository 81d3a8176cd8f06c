import type { Kysely } from 'kysely';
import { AppError } from '../errors.js';
import { GroupCommitter } from './group-commit.js';
import type { Database } from './schema.js';
import type { OpThreadData, WireOutcome } from './sqlite-op-thread.js';
import type { Store } from './store.js';
import { moduleHref, startThread, type ThreadClient, threadClient } from './thread.js';

/**
 * A unit of writing: runs in a transaction of its own (PostgreSQL) or a savepoint of a group
 * commit (SQLite), so it sees the store consistently and takes effect all or nothing. Its
 * arguments and result cross a thread boundary: plain data only.
 */
// biome-ignore lint/suspicious/noExplicitAny: each op declares its own argument type
export type StoreOp = (db: Kysely<Database>, args: any) => Promise<unknown>;
export type OpTable = Readonly<Record<string, StoreOp>>;

/** Runs the ops of one table against a store; each result is durable when its promise settles. */
export interface OpRunner<T extends OpTable> {
  run<K extends keyof T & string>(
    op: K,
    args: Parameters<T[K]>[1],
  ): Promise<Awaited<ReturnType<T[K]>>>;
  /** Waits for the ops under way, then stops the writer thread (SQLite). */
  close(): Promise<void>;
}

/** Where the op table lives, so a writer thread can load it: `export const <name>` of `module`. */
export interface OpTableModule {
  /** The compiled module's URL: `new URL('./x.js', import.meta.url)`. */
  readonly module: URL;
  readonly name: string;
}

const MAX_BATCH = 256;

/**
 * The runner for `store`. On PostgreSQL each op is a transaction on the pool; the server groups
 * the WAL flushes of concurrent commits itself. On SQLite the ops run on a connection of their
 * own in a writer thread: ops submitted together share one transaction and one fsync (each in a
 * savepoint, so one op's error undoes only that op), and no fsync stops the event loop. WAL
 * checkpoints are left to `startCheckpointer`.
 */
export function createOpRunner<T extends OpTable>(
  store: Store,
  table: T,
  where: OpTableModule,
): OpRunner<T> {
  if (store.dialect === 'postgres') {
    const under = new Set<Promise<unknown>>();
    return {
      run(op, args) {
        const fn = table[op] as StoreOp;
        const running = store.transaction((trx) => fn(trx, args));
        under.add(running);
        void running.finally(() => under.delete(running)).catch(() => {});
        return running as Promise<Awaited<ReturnType<T[typeof op]>>>;
      },
      close: async () => {
        await Promise.allSettled([...under]);
      },
    };
  }
  const data: OpThreadData = {
    path: store.url.slice('sqlite:'.length),
    module: moduleHref(where.module),
    name: where.name,
  };
  // Started by the first op: a gateway that only ingests never pays for the thread's isolate.
  // Started again after it died (an out-of-memory kill of the isolate, a native crash): the
  // batch it held failed its callers, who may retry, and the next batch gets a new thread.
  let thread: ThreadClient<WireOp[]> | null = null;
  const committer = new GroupCommitter<WireOp, WireOutcome>(
    (batch) => {
      if (thread?.failed) thread = null;
      thread ??= threadClient<WireOp[]>(
        startThread(new URL('./sqlite-op-thread.js', import.meta.url), data),
        `${where.name} writer`,
      );
      return thread.request(batch) as Promise<WireOutcome[]>;
    },
    MAX_BATCH,
    // One batch at a time: the ops that arrive meanwhile wait for one commit together. With a
    // second batch in flight (as ingest has), the writer made more and smaller commits, an fsync
    // each, and action latency and CPU rose (bench:actions).
    1,
  );
  return {
    async run(op, args) {
      const outcome = await committer.submit({ op, args });
      // biome-ignore lint/suspicious/noExplicitAny: the thread ran table[op], whose result this is
      if (outcome.ok) return outcome.value as any;
      throw outcome.error.code
        ? new AppError(outcome.error.code, outcome.error.status ?? 500, outcome.error.message, {
            details: outcome.error.details ?? {},
          })
        : new Error(outcome.error.message);
    },
    close: async () => {
      await committer.idle();
      await thread?.close();
    },
  };
}

/** One op as it is sent to the writer thread. */
export interface WireOp {
  readonly op: string;
  readonly args: unknown;
}
