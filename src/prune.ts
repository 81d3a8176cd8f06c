import type { Kysely } from 'kysely';
// Leaf modules: the writer thread loads this table.
import { pruneKeys } from './actions/idempotency.js';
import { pruneActivity } from './activity/activity-counts.js';
import type { Config } from './config.js';
import { inboxPruneOps, type PruneResult, pruneInbox } from './ingest/prune.js';
import { type Database, type Dialect, inBatches, type OpRunner } from './store/index.js';

/** Rows one op of pruning deletes at most: each is a short transaction between other writes. */
const BATCH = 1000;

export interface PruneArgs {
  readonly before: number;
  readonly limit: number;
}

/**
 * Pruning as store ops (store/op-runner.ts), one batch each. On SQLite they run in the writer
 * thread between the other writes: run on the main thread, each delete waited for the write lock
 * in SQLite's busy handler, which stops the event loop, and the keys' delete held the lock for
 * as long as deleting an hour's keys took.
 */
export const pruneOps = {
  ...inboxPruneOps,
  pruneKeys: (db: Kysely<Database>, { before, limit }: PruneArgs) => pruneKeys(db, before, limit),
  pruneActivity: (db: Kysely<Database>, { before, limit }: PruneArgs) =>
    pruneActivity(db, before, limit),
};

export interface PruneCounts extends PruneResult {
  readonly keys: number;
  readonly activity: number;
}

/** Deletes what is past its retention at `now`: inbox events, idempotency keys, activity counts. */
export async function pruneStore(
  ops: Pick<OpRunner<typeof pruneOps>, 'run'>,
  retention: Config['retention'],
  dialect: Dialect,
  now: number,
): Promise<PruneCounts> {
  const inbox = await pruneInbox(ops, now - retention.events, dialect, BATCH);
  const batches = (op: 'pruneKeys' | 'pruneActivity', before: number) =>
    inBatches(BATCH, () => ops.run(op, { before, limit: BATCH }));
  const keys = await batches('pruneKeys', now - retention.idempotencyKeys);
  const activity = await batches('pruneActivity', now - retention.events);
  return { ...inbox, keys, activity };
}
