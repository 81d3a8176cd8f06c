import type { Kysely } from 'kysely';
import { appendAudits } from '../audit/index.js';
import { deadEntry } from '../dispatch/delivery-ops.js';
import { firstIdAt } from '../ids.js';
import { type Database, type Dialect, inBatches, type OpRunner } from '../store/index.js';

export interface PruneResult {
  readonly events: number;
  readonly requests: number;
  /** Agents' delivery rows of the pruned events. */
  readonly deliveries: number;
}

/** What one step of `pruneInbox` does: one batch of rows of one kind. */
export type InboxPruneStep = 'undelivered' | 'deliveries' | 'events' | 'requests';

export interface InboxPruneArgs {
  readonly step: InboxPruneStep;
  readonly before: number;
  readonly batchSize: number;
  readonly dialect: Dialect;
}

/**
 * One batch of `pruneInbox`, as a store op (store/op-runner.ts): on SQLite it runs in the writer
 * thread between other writes. (Run on the main thread, each delete waited for the write lock
 * in SQLite's busy handler, which stops the event loop, and held it for as long as it took.)
 */
async function pruneInboxStep(db: Kysely<Database>, args: InboxPruneArgs): Promise<number> {
  const { step, before, batchSize, dialect } = args;
  const eventsBelow = firstIdAt('evt', before);
  switch (step) {
    case 'undelivered':
      return deadLetterUndelivered(db, eventsBelow, batchSize, dialect);
    case 'deliveries':
      return deleteBelow(db, 'deliveries', eventsBelow, batchSize);
    case 'events':
      return deleteBelow(db, 'events', eventsBelow, batchSize);
    case 'requests':
      return deleteBelow(db, 'webhook_requests', firstIdAt('req', before), batchSize);
  }
}

/** The ops of pruning the inbox. */
export const inboxPruneOps = { pruneInboxStep };

/**
 * Deletes events, their dedup keys and raw requests received before `before` (epoch ms), in
 * batches so no single transaction holds locks for long. Ids sort by creation time, so each
 * batch walks the primary key. A delivery of a pruned event is accepted as new again, which is
 * why the window must outlast providers' retry horizons.
 */
export async function pruneInbox(
  ops: Pick<OpRunner<typeof inboxPruneOps>, 'run'>,
  before: number,
  dialect: Dialect,
  batchSize: number,
): Promise<PruneResult> {
  const all = (step: InboxPruneStep) =>
    inBatches(batchSize, () => ops.run('pruneInboxStep', { step, before, batchSize, dialect }));
  const deliveries = (await all('undelivered')) + (await all('deliveries'));
  const events = await all('events');
  const requests = await all('requests');
  return { events, requests, deliveries };
}

async function deleteBelow(
  db: Kysely<Database>,
  table: 'events' | 'webhook_requests' | 'deliveries',
  belowId: string,
  batchSize: number,
): Promise<number> {
  // A delivery row is one agent's copy of an event: keyed by the event's id.
  const id = table === 'deliveries' ? 'event_id' : 'id';
  const result = await db
    .deleteFrom(table)
    .where(
      id,
      'in',
      db.selectFrom(table).select(id).where(id, '<', belowId).orderBy(id).limit(batchSize),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

const PRUNED_UNDELIVERED = 'pruned: older than retention.events before it was delivered';

/**
 * Deliveries still open when their event goes (an agent far behind, or gone): each is recorded
 * as dead-lettered in the audit log before its row is deleted, so no event leaves unaccounted.
 */
async function deadLetterUndelivered(
  db: Kysely<Database>,
  belowId: string,
  batchSize: number,
  dialect: Dialect,
): Promise<number> {
  const open = await db
    .selectFrom('deliveries')
    .select(['agent', 'event_id', 'delivery_id'])
    .where('event_id', '<', belowId)
    .where('status', 'in', ['pending', 'leased'])
    .limit(batchSize)
    .execute();
  if (open.length === 0) return 0;
  for (const row of open) {
    await db
      .deleteFrom('deliveries')
      .where('agent', '=', row.agent)
      .where('event_id', '=', row.event_id)
      .execute();
  }
  const now = Date.now();
  await appendAudits(
    db,
    open.map((row) => deadEntry(row.event_id, row.agent, row.delivery_id, now, PRUNED_UNDELIVERED)),
    dialect,
  );
  return open.length;
}
