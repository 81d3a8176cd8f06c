import { appendAudits } from '../audit/index.js';
import { deadEntry } from '../dispatch/delivery-ops.js';
import { firstIdAt } from '../ids.js';
import type { Store } from '../store/index.js';

export interface PruneResult {
  readonly events: number;
  readonly requests: number;
  /** Agents' delivery rows of the pruned events. */
  readonly deliveries: number;
}

/**
 * Deletes events, their dedup keys and raw requests received before `before` (epoch ms), in
 * batches so no single transaction holds locks for long. Ids sort by creation time, so each
 * batch walks the primary key. A delivery of a pruned event is accepted as new again, which is
 * why the window must outlast providers' retry horizons.
 */
export async function pruneInbox(
  store: Store,
  before: number,
  batchSize = 1000,
): Promise<PruneResult> {
  const deliveries =
    (await deadLetterUndelivered(store, firstIdAt('evt', before), batchSize)) +
    (await deleteInBatches(store, 'deliveries', firstIdAt('evt', before), batchSize));
  const events = await deleteInBatches(store, 'events', firstIdAt('evt', before), batchSize);
  const requests = await deleteInBatches(
    store,
    'webhook_requests',
    firstIdAt('req', before),
    batchSize,
  );
  return { events, requests, deliveries };
}

async function deleteInBatches(
  store: Store,
  table: 'events' | 'webhook_requests' | 'deliveries',
  belowId: string,
  batchSize: number,
): Promise<number> {
  // A delivery row is one agent's copy of an event: keyed by the event's id.
  const id = table === 'deliveries' ? 'event_id' : 'id';
  let total = 0;
  for (;;) {
    const result = await store.db
      .deleteFrom(table)
      .where(
        id,
        'in',
        store.db.selectFrom(table).select(id).where(id, '<', belowId).orderBy(id).limit(batchSize),
      )
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

const PRUNED_UNDELIVERED = 'pruned: older than retention.events before it was delivered';

/**
 * Deliveries still open when their event goes (an agent far behind, or gone): each is recorded
 * as dead-lettered in the audit log before its row is deleted, so no event leaves unaccounted.
 */
async function deadLetterUndelivered(
  store: Store,
  belowId: string,
  batchSize: number,
): Promise<number> {
  let total = 0;
  for (;;) {
    const count = await store.transaction(async (trx) => {
      const open = await trx
        .selectFrom('deliveries')
        .select(['agent', 'event_id', 'delivery_id'])
        .where('event_id', '<', belowId)
        .where('status', 'in', ['pending', 'leased'])
        .limit(batchSize)
        .execute();
      if (open.length === 0) return 0;
      for (const row of open) {
        await trx
          .deleteFrom('deliveries')
          .where('agent', '=', row.agent)
          .where('event_id', '=', row.event_id)
          .execute();
      }
      const now = Date.now();
      await appendAudits(
        trx,
        open.map((row) =>
          deadEntry(row.event_id, row.agent, row.delivery_id, now, PRUNED_UNDELIVERED),
        ),
        store.dialect,
      );
      return open.length;
    });
    total += count;
    if (count < batchSize) return total;
  }
}
