import type { Kysely } from 'kysely';

// What the operator dashboard reads besides the records it shows (src/dashboard/README.md).
// `activity_counts`: occurrences nothing else stores (webhook requests refused before anything
// was kept, failed connector calls, writes prevented), counted per minute and kind, so the
// overview and the error list cover any window, across restarts and instances, in bounded rows.
// `operator_sessions`: dashboard sign-ins; the cookie holds a random id, the store its SHA-256.
// `approvals.record_fields`: the record as it was read when the approval was asked for, so a
// stale approval can show each field's value then and now.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('approvals').addColumn('record_fields', 'text').execute();
  await db.schema
    .createTable('activity_counts')
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('subject', 'text', (col) => col.notNull())
    .addColumn('reason', 'text', (col) => col.notNull())
    .addColumn('minute', 'bigint', (col) => col.notNull())
    .addColumn('count', 'integer', (col) => col.notNull())
    .addColumn('last_at', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('activity_counts_pk', ['kind', 'subject', 'reason', 'minute'])
    .execute();
  await db.schema
    .createIndex('activity_counts_minute')
    .on('activity_counts')
    .columns(['minute'])
    .execute();
  await db.schema
    .createTable('operator_sessions')
    .addColumn('id_sha256', 'text', (col) => col.primaryKey())
    .addColumn('operator', 'text', (col) => col.notNull())
    .addColumn('token_sha256', 'text', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('expires_at', 'bigint', (col) => col.notNull())
    .execute();
}
