import { type Kysely, sql } from 'kysely';
import type { Dialect } from '../store.js';

// Ids are UUIDv7 and so sort by creation time: listing newest first and pruning by age walk the
// primary key, and no index on received_at is kept. Every index costs each ingested event a
// page write in the group commit.
export async function up(db: Kysely<unknown>, dialect: Dialect): Promise<void> {
  const bytes = dialect === 'postgres' ? sql`bytea` : sql`blob`;

  await db.schema
    .createTable('webhook_requests')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('source', 'text', (col) => col.notNull())
    .addColumn('received_at', 'bigint', (col) => col.notNull())
    .addColumn('headers', 'text', (col) => col.notNull())
    .addColumn('body', bytes, (col) => col.notNull())
    .execute();

  await db.schema
    .createTable('events')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('source', 'text', (col) => col.notNull())
    .addColumn('dedup_key', 'text', (col) => col.notNull())
    .addColumn('provider_event_id', 'text', (col) => col.notNull())
    .addColumn('request_id', 'text', (col) => col.notNull())
    .addColumn('item_index', 'integer')
    .addColumn('type', 'text')
    .addColumn('record_system', 'text')
    .addColumn('record_type', 'text')
    .addColumn('record_id', 'text')
    .addColumn('occurred_at', 'bigint')
    .addColumn('received_at', 'bigint', (col) => col.notNull())
    .addColumn('duplicates', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('last_duplicate_at', 'bigint')
    // The dedup guarantee lives here: concurrent deliveries of one event cannot both commit.
    .addUniqueConstraint('events_source_dedup_key', ['source', 'dedup_key'])
    .execute();
  await db.schema
    .createIndex('events_record')
    .on('events')
    .columns(['record_system', 'record_type', 'record_id', 'id'])
    .execute();
}
