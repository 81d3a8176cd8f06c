import type { Kysely } from 'kysely';
import { AppError } from '../errors.js';
import { GroupCommitter } from './group-commit.js';
import type { OpTableHref, WireOutcome } from './op-batches.js';
import { sqliteFile } from './open-store.js';
import type { Database } from './schema.js';
import { sqliteWriter, writerJob } from './sqlite-writer.js';
import type { Store } from './store.js';
import { moduleHref } from './thread.js';

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

export interface OpRunnerOptions {
  /** Told each op's name and its seconds from submission until it settled (durable, or failed). */
  readonly observe?: ((op: string, seconds: number) => void) | undefined;
}

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
  options: OpRunnerOptions = {},
): OpRunner<T> {
  const runner =
    store.dialect === 'postgres' ? poolRunner(store, table) : threadRunner(store, where);
  // The thread or the pool ran `table[op]`: its result is what the op returned.
  const typed = runner as unknown as OpRunner<T>;
  const { observe } = options;
  if (!observe) return typed;
  return {
    run(op, args) {
      const started = performance.now();
      const running = typed.run(op, args);
      const settled = () => observe(op, (performance.now() - started) / 1000);
      running.then(settled, settled);
      return running;
    },
    close: () => typed.close(),
  };
}

/** Any op by name, its result as the op returned it. */
interface UntypedRunner {
  run(op: string, args: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** PostgreSQL: each op a transaction of its own on the pool. */
function poolRunner(store: Store, table: OpTable): UntypedRunner {
  const under = new Set<Promise<unknown>>();
  return {
    run(op, args) {
      const fn = table[op] as StoreOp;
      const running = store.transaction((trx) => fn(trx, args));
      under.add(running);
      void running.finally(() => under.delete(running)).catch(() => {});
      return running;
    },
    close: async () => {
      await Promise.allSettled([...under]);
    },
  };
}

/** SQLite: the ops in the file's writer thread (sqlite-writer.ts), group-committed. */
function threadRunner(store: Store, where: OpTableModule): UntypedRunner {
  const writer = sqliteWriter(sqliteFile(store));
  const table: OpTableHref = { module: moduleHref(where.module), name: where.name };
  const job = writerJob(new URL('./op-batches.js', import.meta.url), 'opBatches', table);
  const committer = new GroupCommitter<WireOp, WireOutcome>(
    (batch) => writer.run(job, batch) as Promise<WireOutcome[]>,
    MAX_BATCH,
    // One batch at a time: the ops that arrive meanwhile wait for one commit together. With a
    // second batch in flight (as ingest has), the writer made more and smaller commits, an fsync
    // each, and action latency and CPU rose (bench:actions).
    1,
  );
  return {
    async run(op, args) {
      const outcome = await committer.submit({ op, args });
      if (outcome.ok) return outcome.value;
      throw outcome.error.code
        ? new AppError(outcome.error.code, outcome.error.status ?? 500, outcome.error.message, {
            details: outcome.error.details ?? {},
          })
        : new Error(outcome.error.message);
    },
    close: async () => {
      await committer.idle();
      await writer.release();
    },
  };
}

/** One op as it is sent to the writer thread. */
export interface WireOp {
  readonly op: string;
  readonly args: unknown;
}
