import type { Generated } from 'kysely';

/** A webhook request as received: raw bytes kept for audit and replay. */
export interface WebhookRequestTable {
  id: string;
  source: string;
  received_at: number;
  /** JSON object of the request headers, lower-cased names. */
  headers: string;
  body: Buffer;
}

/** One provider event in the inbox. Unique per (source, dedup_key). */
export interface EventTable {
  id: string;
  source: string;
  dedup_key: string;
  provider_event_id: string;
  request_id: string;
  /** Position in a batched request body (HubSpot); null for single-event bodies. */
  item_index: number | null;
  type: string | null;
  record_system: string | null;
  record_type: string | null;
  record_id: string | null;
  occurred_at: number | null;
  received_at: number;
  /** How many later deliveries of this event were recognised as duplicates. */
  duplicates: Generated<number>;
  last_duplicate_at: number | null;
}

export interface MigrationTable {
  name: string;
  applied_at: number;
}

export interface Database {
  airlock_migrations: MigrationTable;
  webhook_requests: WebhookRequestTable;
  events: EventTable;
}
