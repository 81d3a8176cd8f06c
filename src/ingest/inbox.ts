import { type Kysely, sql } from 'kysely';
import { type AuditEntry, appendAudits } from '../audit/index.js';
import { newId } from '../ids.js';
import type { Database, Dialect, Store } from '../store/index.js';
import type { EventIdentity } from './schemes/index.js';

/** One verified webhook request, ready to be committed to the inbox. */
export interface InboxDelivery {
  readonly source: string;
  /** The system the source's records belong to (`record.system`). */
  readonly system: string;
  readonly receivedAt: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly events: readonly EventIdentity[];
}

/** What the inbox made of one event: its id, and whether an earlier delivery already had it. */
export interface AcceptedEvent {
  readonly id: string;
  readonly duplicate: boolean;
}

/** One event of a batch, with the id it gets if it is new. */
export interface Candidate {
  readonly id: string;
  /** Index of its delivery in the batch, and of the event in the delivery. */
  readonly delivery: number;
  readonly item: number;
  readonly source: string;
  readonly event: EventIdentity;
}

/** How a batch is written, whatever the dialect; the dialect supplies the statements. */
export interface BatchPlan {
  readonly requestIds: readonly string[];
  /**
   * Every event of the batch in the order it arrived: request by request, each request's events
   * in the order it carries them. Events are appended (audit sequence, hence delivery order) in
   * this order.
   */
  readonly candidates: readonly Candidate[];
  /**
   * The same in (source, dedup key) order: the order to take the keys' locks in, so two
   * transactions on PostgreSQL wait on each other's keys in the same order and cannot deadlock.
   */
  readonly lockOrder: readonly Candidate[];
  /** Whether delivery `index` brought at least one new event, so its raw request is kept. */
  storesRequest(index: number, firstCopies: ReadonlyMap<Candidate, string>): boolean;
  /** The answers, given the stored id of each candidate that turned out to be a duplicate. */
  answers(firstCopies: ReadonlyMap<Candidate, string>): AcceptedEvent[][];
}

/** The audit entry of an event stored for the first time. */
export function eventReceived(
  candidate: Candidate,
  delivery: InboxDelivery,
  requestId: string,
): AuditEntry {
  const { event } = candidate;
  return {
    kind: 'event',
    subject: candidate.id,
    change: 'received',
    at: delivery.receivedAt,
    data: {
      source: candidate.source,
      providerEventId: event.providerEventId,
      type: event.type,
      record: event.record ? `${delivery.system}:${event.record.type}:${event.record.id}` : null,
      request: requestId,
    },
  };
}

/** The audit entry of a repeated delivery of a stored event. */
export function eventDuplicate(
  storedId: string,
  delivery: InboxDelivery,
  requestId: string,
): AuditEntry {
  return {
    kind: 'event',
    subject: storedId,
    change: 'duplicate',
    at: delivery.receivedAt,
    data: { source: delivery.source, request: requestId },
  };
}

export function planBatch(deliveries: readonly InboxDelivery[]): BatchPlan {
  const requestIds = deliveries.map(() => newId('req'));
  const byDelivery: Candidate[][] = deliveries.map((delivery, index) =>
    delivery.events.map((event, item) => ({
      id: newId('evt'),
      delivery: index,
      item,
      source: delivery.source,
      event,
    })),
  );
  const candidates = byDelivery.flat();
  // A stable sort: of two copies of one event in a batch, the first to arrive is stored.
  const lockOrder = candidates.toSorted(
    (a, b) => compare(a.source, b.source) || compare(a.event.dedupKey, b.event.dedupKey),
  );
  return {
    requestIds,
    candidates,
    lockOrder,
    storesRequest: (index, firstCopies) =>
      (byDelivery[index] ?? []).some((candidate) => !firstCopies.has(candidate)),
    answers: (firstCopies) => {
      const answers = deliveries.map(
        (delivery) => new Array<AcceptedEvent>(delivery.events.length),
      );
      for (const candidate of candidates) {
        const first = firstCopies.get(candidate);
        (answers[candidate.delivery] as AcceptedEvent[])[candidate.item] =
          first === undefined
            ? { id: candidate.id, duplicate: false }
            : { id: first, duplicate: true };
      }
      return answers;
    },
  };
}

/**
 * Commits a batch of deliveries in one transaction and answers, per delivery, each event's id.
 * An event whose (source, dedup key) is already stored is not stored again: the answer carries
 * the first copy's id and `duplicate: true`. The unique index decides, so concurrent batches
 * (other requests, other instances) cannot both store one event. This is the PostgreSQL writer;
 * SQLite's is `createSqliteAppender`, with the same rules.
 */
export function appendDeliveries(
  store: Store,
  deliveries: readonly InboxDelivery[],
): Promise<AcceptedEvent[][]> {
  return store.transaction((trx) => appendInTransaction(trx, deliveries, store.dialect));
}

async function appendInTransaction(
  trx: Kysely<Database>,
  deliveries: readonly InboxDelivery[],
  dialect: Dialect,
): Promise<AcceptedEvent[][]> {
  const plan = planBatch(deliveries);
  const inserted = new Set<string>();
  for (const chunk of chunks(plan.lockOrder, 500)) {
    const rows = await trx
      .insertInto('events')
      .values(
        chunk.map(({ id, delivery: index, source, event }) => {
          const delivery = deliveries[index] as InboxDelivery;
          return {
            id,
            source,
            dedup_key: event.dedupKey,
            provider_event_id: event.providerEventId,
            request_id: plan.requestIds[index] as string,
            item_index: event.itemIndex,
            type: event.type,
            record_system: event.record ? delivery.system : null,
            record_type: event.record?.type ?? null,
            record_id: event.record?.id ?? null,
            occurred_at: event.occurredAt,
            received_at: delivery.receivedAt,
          };
        }),
      )
      .onConflict((oc) => oc.columns(['source', 'dedup_key']).doNothing())
      .returning('id')
      .execute();
    for (const row of rows) inserted.add(row.id);
  }

  const firstCopies = await findFirstCopies(
    trx,
    plan.candidates.filter((candidate) => !inserted.has(candidate.id)),
  );
  await countDuplicates(trx, firstCopies, deliveries);
  const audit = plan.candidates.map((candidate) => {
    const delivery = deliveries[candidate.delivery] as InboxDelivery;
    const requestId = plan.requestIds[candidate.delivery] as string;
    const first = firstCopies.get(candidate);
    return first === undefined
      ? eventReceived(candidate, delivery, requestId)
      : eventDuplicate(first, delivery, requestId);
  });

  const stored = deliveries
    .map((delivery, index) => ({ delivery, id: plan.requestIds[index] as string, index }))
    .filter(({ index }) => plan.storesRequest(index, firstCopies));
  for (const chunk of chunks(stored, 200)) {
    await trx
      .insertInto('webhook_requests')
      .values(
        chunk.map(({ delivery, id }) => ({
          id,
          source: delivery.source,
          received_at: delivery.receivedAt,
          headers: JSON.stringify(delivery.headers),
          body: delivery.body,
        })),
      )
      .execute();
  }
  // Last: on PostgreSQL the chain's lock is held from here to the commit.
  if (audit.length > 0) await appendAudits(trx, audit, dialect);
  return plan.answers(firstCopies);
}

/** The stored id of each candidate that lost to an existing row. */
async function findFirstCopies(
  trx: Kysely<Database>,
  losers: readonly Candidate[],
): Promise<Map<Candidate, string>> {
  const found = new Map<Candidate, string>();
  const bySource = new Map<string, Candidate[]>();
  for (const candidate of losers) {
    bySource.set(candidate.source, [...(bySource.get(candidate.source) ?? []), candidate]);
  }
  for (const [source, group] of bySource) {
    for (const chunk of chunks(group, 500)) {
      const rows = await trx
        .selectFrom('events')
        .select(['id', 'dedup_key'])
        .where('source', '=', source)
        .where(
          'dedup_key',
          'in',
          chunk.map((candidate) => candidate.event.dedupKey),
        )
        .execute();
      const ids = new Map(rows.map((row) => [row.dedup_key, row.id]));
      for (const candidate of chunk) {
        const id = ids.get(candidate.event.dedupKey);
        // The conflicting row is committed (or ours), so it is visible here; absence is a bug.
        if (id === undefined)
          throw new Error(`inbox: no stored copy for ${candidate.event.dedupKey}`);
        found.set(candidate, id);
      }
    }
  }
  return found;
}

async function countDuplicates(
  trx: Kysely<Database>,
  firstCopies: ReadonlyMap<Candidate, string>,
  deliveries: readonly InboxDelivery[],
): Promise<void> {
  const counts = new Map<string, { count: number; at: number }>();
  for (const [candidate, id] of firstCopies) {
    const at = (deliveries[candidate.delivery] as InboxDelivery).receivedAt;
    const entry = counts.get(id) ?? { count: 0, at };
    counts.set(id, { count: entry.count + 1, at: Math.max(entry.at, at) });
  }
  for (const [id, { count, at }] of [...counts].sort(([a], [b]) => compare(a, b))) {
    await trx
      .updateTable('events')
      .set((eb) => ({
        duplicates: eb('duplicates', '+', count),
        // A concurrent batch may have recorded a later copy already; keep the latest.
        last_duplicate_at: sql<number>`greatest(coalesce(last_duplicate_at, 0), ${at})`,
      }))
      .where('id', '=', id)
      .execute();
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function* chunks<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
