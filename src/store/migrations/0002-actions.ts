import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per idempotency key and agent: claimed first, before any work, so a second request
  // with the key sees it in flight (or its stored answer) instead of doing the work again.
  await db.schema
    .createTable('idempotency_keys')
    .addColumn('agent', 'text', (col) => col.notNull())
    .addColumn('key', 'text', (col) => col.notNull())
    .addColumn('fingerprint', 'text', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull())
    .addColumn('locked_until', 'bigint', (col) => col.notNull())
    .addColumn('response_status', 'integer')
    .addColumn('response_body', 'text')
    .addColumn('action_id', 'text')
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('idempotency_keys_pk', ['agent', 'key'])
    .execute();
  await db.schema
    .createIndex('idempotency_keys_created_at')
    .on('idempotency_keys')
    .column('created_at')
    .execute();

  // An accepted action is its own outbox row: accepted and queued in one commit.
  await db.schema
    .createTable('actions')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('agent', 'text', (col) => col.notNull())
    .addColumn('idempotency_key', 'text', (col) => col.notNull())
    .addColumn('operation', 'text', (col) => col.notNull())
    .addColumn('record_key', 'text', (col) => col.notNull())
    .addColumn('target', 'text', (col) => col.notNull())
    .addColumn('params', 'text', (col) => col.notNull())
    .addColumn('basis', 'text')
    .addColumn('decision', 'text')
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('verdict', 'text')
    .addColumn('expected_revision', 'text')
    .addColumn('effect', 'text')
    .addColumn('error', 'text')
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (col) => col.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'bigint')
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .addColumn('updated_at', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('actions_record')
    .on('actions')
    .columns(['record_key', 'created_at'])
    .execute();
  await db.schema
    .createIndex('actions_due')
    .on('actions')
    .columns(['status', 'next_attempt_at'])
    .execute();

  // Rate limits: one row per slot; a unique key makes taking the last free slot atomic.
  await db.schema
    .createTable('rate_limit_slots')
    .addColumn('rule', 'text', (col) => col.notNull())
    .addColumn('scope', 'text', (col) => col.notNull())
    .addColumn('slot', 'integer', (col) => col.notNull())
    .addColumn('action_id', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'bigint', (col) => col.notNull())
    .addPrimaryKeyConstraint('rate_limit_slots_pk', ['rule', 'scope', 'slot'])
    .execute();

  // Agents created with `airlock agents add`; agents in the config need no row.
  await db.schema
    .createTable('agents')
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('key_sha256', 'text', (col) => col.notNull())
    .addColumn('operations', 'text', (col) => col.notNull())
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .execute();
}
