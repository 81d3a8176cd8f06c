import type { Database as SqliteConnection } from 'better-sqlite3';
import type { AuditEntry } from '../audit/entry-hash.js';
import { createSqliteAuditAppender } from '../audit/sqlite-audit-appender.js';
import {
  type AcceptedEvent,
  type Candidate,
  eventDuplicate,
  eventReceived,
  type InboxDelivery,
  planBatch,
} from './inbox.js';

/**
 * The inbox's job in the SQLite writer thread (sqlite-writer.ts): each batch of deliveries
 * appended in one transaction, as `createSqliteAppender` does.
 */
export function inboxBatches(connection: SqliteConnection): (batch: unknown) => AcceptedEvent[][] {
  const append = createSqliteAppender(connection);
  // Buffers arrive as Uint8Arrays after the structured clone.
  return (batch) =>
    append(
      (batch as InboxDelivery[]).map((delivery) => ({
        ...delivery,
        body: Buffer.from(delivery.body),
      })),
    );
}

/**
 * `appendDeliveries` for SQLite, on a better-sqlite3 connection with statements prepared once.
 * The Kysely version builds and prepares a new statement for every batch; at thousands of
 * events per second that was most of the writer thread's time. Same rules, same answers; the
 * inbox tests run both.
 */
export function createSqliteAppender(
  connection: SqliteConnection,
): (deliveries: readonly InboxDelivery[]) => AcceptedEvent[][] {
  const insertEvent = connection.prepare<unknown[], { id: string }>(
    `insert into events (id, source, dedup_key, provider_event_id, request_id, item_index, type,
       record_system, record_type, record_id, occurred_at, received_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     on conflict (source, dedup_key) do nothing
     returning id`,
  );
  const findEvent = connection.prepare<[string, string], { id: string }>(
    'select id from events where source = ? and dedup_key = ?',
  );
  const countDuplicate = connection.prepare<[number, string]>(
    `update events set duplicates = duplicates + 1,
       last_duplicate_at = max(coalesce(last_duplicate_at, 0), ?) where id = ?`,
  );
  const insertRequest = connection.prepare<[string, string, number, string, Buffer]>(
    'insert into webhook_requests (id, source, received_at, headers, body) values (?, ?, ?, ?, ?)',
  );
  const audit = createSqliteAuditAppender(connection);

  const append = connection.transaction((deliveries: readonly InboxDelivery[]) => {
    const plan = planBatch(deliveries);
    const firstCopies = new Map<Candidate, string>();
    const entries: AuditEntry[] = [];
    for (const candidate of plan.candidates) {
      const delivery = deliveries[candidate.delivery] as InboxDelivery;
      const event = candidate.event;
      const inserted = insertEvent.get(
        candidate.id,
        candidate.source,
        event.dedupKey,
        event.providerEventId,
        plan.requestIds[candidate.delivery],
        event.itemIndex,
        event.type,
        event.record ? delivery.system : null,
        event.record?.type ?? null,
        event.record?.id ?? null,
        event.occurredAt,
        delivery.receivedAt,
      );
      if (inserted) {
        entries.push(
          eventReceived(candidate, delivery, plan.requestIds[candidate.delivery] as string),
        );
        continue;
      }
      const first = findEvent.get(candidate.source, event.dedupKey);
      if (!first) throw new Error(`inbox: no stored copy for ${event.dedupKey}`);
      firstCopies.set(candidate, first.id);
      countDuplicate.run(delivery.receivedAt, first.id);
      entries.push(
        eventDuplicate(first.id, delivery, plan.requestIds[candidate.delivery] as string),
      );
    }
    for (const [index, delivery] of deliveries.entries()) {
      if (!plan.storesRequest(index, firstCopies)) continue;
      insertRequest.run(
        plan.requestIds[index] as string,
        delivery.source,
        delivery.receivedAt,
        JSON.stringify(delivery.headers),
        delivery.body,
      );
    }
    audit(...entries);
    return plan.answers(firstCopies);
  });
  // BEGIN IMMEDIATE: take the write lock up front rather than fail when a read turns into a write.
  return (deliveries) => append.immediate(deliveries);
}
