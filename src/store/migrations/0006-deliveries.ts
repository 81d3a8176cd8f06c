import type { Kysely } from 'kysely';

// Delivery of inbox events to agents (src/dispatch/README.md). One row per (agent, event), in
// the order the events committed (`seq`, their audit sequence number); a record's rows go out
// one delivery after the other. Each agent's fan-out cursor starts at the audit head of the
// moment it is first seen, so a new subscription is not handed the history before it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deliveries')
    .addColumn('agent', 'text', (col) => col.notNull())
    .addColumn('event_id', 'text', (col) => col.notNull())
    .addColumn('seq', 'bigint', (col) => col.notNull())
    .addColumn('record_key', 'text', (col) => col.notNull())
    .addColumn('occurred_at', 'bigint')
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('echo_of', 'text')
    .addColumn('delivery_id', 'text')
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (col) => col.notNull())
    .addColumn('lease_until', 'bigint')
    .addColumn('context_revision', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('updated_at', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('deliveries_pk', ['agent', 'event_id'])
    .execute();
  await db.schema
    .createIndex('deliveries_record')
    .on('deliveries')
    .columns(['agent', 'record_key', 'seq'])
    .execute();
  await db.schema
    .createIndex('deliveries_open')
    .on('deliveries')
    .columns(['agent', 'status', 'seq'])
    .execute();
  await db.schema
    .createIndex('deliveries_delivery')
    .on('deliveries')
    .columns(['agent', 'delivery_id'])
    .execute();
  await db.schema
    .createTable('dispatch_cursors')
    .addColumn('agent', 'text', (col) => col.primaryKey())
    .addColumn('seq', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema
    .createTable('agent_endpoints')
    .addColumn('agent', 'text', (col) => col.primaryKey())
    .addColumn('disabled_at', 'bigint', (col) => col.notNull())
    .addColumn('reason', 'text', (col) => col.notNull())
    .execute();
}
