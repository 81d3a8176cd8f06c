import type { Selectable } from 'kysely';
import { eventPayload, type RecordRef, toEvent } from '../ingest/index.js';
import type { EventTable, Store } from '../store/index.js';
import { actionOfPayload } from './echo.js';
import type { TraceEvent } from './trace-document.js';

type EventWithBody = Selectable<EventTable> & { body: Buffer | Uint8Array };

/** The events with these ids (those still in the inbox), each with the action it echoes. */
export async function loadEvents(store: Store, ids: readonly string[]): Promise<TraceEvent[]> {
  if (ids.length === 0) return [];
  const rows = await withBodies(store)
    .where('events.id', 'in', [...ids])
    .execute();
  return rows.map(toTraceEvent);
}

/**
 * Events about `record` with an id from `sinceId` on, oldest first, at most `limit`. Ids are
 * UUIDv7 (time first), so this is a time range the `events_record` index answers.
 */
export async function eventsAboutSince(
  store: Store,
  record: RecordRef,
  sinceId: string,
  limit: number,
): Promise<TraceEvent[]> {
  const rows = await withBodies(store)
    .where('events.record_system', '=', record.system)
    .where('events.record_type', '=', record.type)
    .where('events.record_id', '=', record.id)
    .where('events.id', '>=', sinceId)
    .orderBy('events.id')
    .limit(limit)
    .execute();
  return rows.map(toTraceEvent);
}

function withBodies(store: Store) {
  return store.db
    .selectFrom('events')
    .innerJoin('webhook_requests', 'webhook_requests.id', 'events.request_id')
    .selectAll('events')
    .select('webhook_requests.body');
}

function toTraceEvent(row: EventWithBody): TraceEvent {
  return { ...toEvent(row), echoOf: actionOfPayload(eventPayload(row.body, row.item_index)) };
}
