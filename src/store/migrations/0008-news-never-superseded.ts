import type { Kysely } from 'kysely';

// Whether a delivery row may be superseded: a late status change is outdated by the state the
// agent already decided on, but a late message or comment is news however late it comes
// (src/dispatch/README.md). Rows from before this migration keep the old behaviour.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('deliveries')
    .addColumn('supersedable', 'integer', (col) => col.notNull().defaultTo(1))
    .execute();
}
