import type { Selectable } from 'kysely';
import { AppError } from '../errors.js';
import { checkPageCursor, checkPageLimit } from '../page-limit.js';
import type { EventTable, Store } from '../store/index.js';
import { parseJsonBody } from './schemes/payload.js';

/** A record reference: `system:type:id` (the id may itself contain `:`). */
export interface RecordRef {
  readonly system: string;
  readonly type: string;
  readonly id: string;
}

/** An inbox event as operators and agents see it. */
export interface InboxEvent {
  readonly id: string;
  readonly source: string;
  readonly providerEventId: string;
  readonly type: string | null;
  readonly record: RecordRef | null;
  /** ISO 8601; when the provider says it happened. */
  readonly occurredAt: string | null;
  readonly receivedAt: string;
  /** Later deliveries of this event recognised as duplicates. */
  readonly duplicates: number;
  readonly lastDuplicateAt: string | null;
}

/** An event with what it was delivered with. */
export interface InboxEventDetail extends InboxEvent {
  readonly requestId: string;
  /** Position in a batched body (HubSpot sends several events per request). */
  readonly itemIndex: number | null;
  /** The event's payload as JSON: the body, or its item for batched bodies; null if not JSON. */
  readonly payload: unknown;
  readonly headers: Readonly<Record<string, string>>;
  /** The raw request body exactly as received, base64. */
  readonly bodyBase64: string;
}

/** Parses `system:type:id`; throws `invalid-record-ref` (400). */
export function parseRecordRef(text: string): RecordRef {
  const [system, type, ...rest] = text.split(':');
  const id = rest.join(':');
  if (!system || !type || !id) {
    throw new AppError(
      'invalid-record-ref',
      400,
      `expected a record as system:type:id, got "${text}"`,
    );
  }
  return { system, type, id };
}

/** One event with its payload; throws `event-not-found` (404). */
export async function getEvent(store: Store, id: string): Promise<InboxEventDetail> {
  const row = await store.db
    .selectFrom('events')
    .innerJoin('webhook_requests', 'webhook_requests.id', 'events.request_id')
    .selectAll('events')
    .select(['webhook_requests.headers', 'webhook_requests.body'])
    .where('events.id', '=', id)
    .executeTakeFirst();
  if (!row)
    throw new AppError('event-not-found', 404, `no event ${id}`, { details: { event: id } });
  return {
    ...toEvent(row),
    requestId: row.request_id,
    itemIndex: row.item_index,
    payload: eventPayload(row.body, row.item_index),
    headers: JSON.parse(row.headers) as Record<string, string>,
    bodyBase64: Buffer.from(row.body).toString('base64'),
  };
}

export interface ListEventsQuery {
  readonly source?: string | undefined;
  readonly record?: RecordRef | undefined;
  /** 1–500, default 50. */
  readonly limit?: number | undefined;
  /** The `nextCursor` of the previous page. */
  readonly cursor?: string | undefined;
}

export interface EventPage {
  readonly events: InboxEvent[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly nextCursor: string | null;
}

/** Events newest first, filtered by source and record, paged by keyset on the id. */
export async function listEvents(store: Store, query: ListEventsQuery): Promise<EventPage> {
  const limit = query.limit ?? 50;
  checkPageLimit(limit);
  checkPageCursor(query.cursor, 'evt');
  let select = store.db
    .selectFrom('events')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (query.source) select = select.where('source', '=', query.source);
  if (query.record) {
    select = select
      .where('record_system', '=', query.record.system)
      .where('record_type', '=', query.record.type)
      .where('record_id', '=', query.record.id);
  }
  if (query.cursor) select = select.where('id', '<', query.cursor);
  const rows = await select.execute();
  const page = rows.slice(0, limit);
  return {
    events: page.map(toEvent),
    nextCursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  };
}

/** An inbox row as operators and agents see it. */
export function toEvent(row: Selectable<EventTable>): InboxEvent {
  return {
    id: row.id,
    source: row.source,
    providerEventId: row.provider_event_id,
    type: row.type,
    record:
      row.record_system && row.record_type && row.record_id
        ? { system: row.record_system, type: row.record_type, id: row.record_id }
        : null,
    occurredAt: isoTime(row.occurred_at),
    receivedAt: new Date(row.received_at).toISOString(),
    duplicates: row.duplicates,
    lastDuplicateAt:
      row.last_duplicate_at === null ? null : new Date(row.last_duplicate_at).toISOString(),
  };
}

/**
 * ISO 8601 of an epoch-ms time from a row; null when there is none, or when it is no instant a
 * Date can hold (a provider's time stored before ingest checked the range).
 */
export function isoTime(ms: number | null): string | null {
  if (ms === null) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/**
 * An event's payload: the JSON body, or its item of a batched body; null if not JSON. Decoded
 * as ingest decodes it (`parseJsonBody`: strict UTF-8, a byte-order mark skipped).
 */
export function eventPayload(body: Uint8Array, itemIndex: number | null): unknown {
  try {
    const parsed = parseJsonBody(Buffer.from(body));
    if (itemIndex === null) return parsed;
    return Array.isArray(parsed) ? (parsed[itemIndex] ?? null) : null;
  } catch {
    return null;
  }
}
