import type { Kysely } from 'kysely';

// An approval is bound to exactly what was proposed: the operation, the target, a digest of the
// params, the basis revision and the policy version that asked for it. One per action.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('approvals')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('action_id', 'text', (col) => col.notNull().unique())
    .addColumn('agent', 'text', (col) => col.notNull())
    .addColumn('operation', 'text', (col) => col.notNull())
    .addColumn('target', 'text', (col) => col.notNull())
    .addColumn('params_digest', 'text', (col) => col.notNull())
    .addColumn('basis_revision', 'text')
    .addColumn('policy_version', 'text', (col) => col.notNull())
    .addColumn('reason', 'text', (col) => col.notNull())
    .addColumn('status', 'text', (col) => col.notNull())
    .addColumn('expires_at', 'bigint', (col) => col.notNull())
    .addColumn('decided_by', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('comment', 'text')
    .addColumn('outcome', 'text')
    .addColumn('created_at', 'bigint', (col) => col.notNull())
    .execute();
  await db.schema
    .createIndex('approvals_status')
    .on('approvals')
    .columns(['status', 'expires_at'])
    .execute();
}
