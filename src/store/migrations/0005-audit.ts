import type { Kysely } from 'kysely';

// The audit log is a hash chain (src/audit/README.md). `seq` is assigned by the appender, not by
// the database: it must be contiguous (a gap is a deleted entry), which no sequence or identity
// column promises, and the primary key on it is the backstop that stops two appenders from both
// extending the chain from the same entry. No other index: every index costs each append a page
// write, and appends happen in the same transaction as every state change.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigint', (col) => col.primaryKey())
    .addColumn('at', 'bigint', (col) => col.notNull())
    .addColumn('kind', 'text', (col) => col.notNull())
    .addColumn('subject', 'text', (col) => col.notNull())
    .addColumn('change', 'text', (col) => col.notNull())
    .addColumn('data', 'text', (col) => col.notNull())
    .addColumn('prev_hash', 'text', (col) => col.notNull())
    .addColumn('hash', 'text', (col) => col.notNull())
    .execute();
}
