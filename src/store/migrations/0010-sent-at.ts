import { type Kysely, sql } from 'kysely';

// When an action's last write was sent (its attempt marked `executing`): until the connector's
// `lateWriteWindow` has passed since, that write may still land, and a reconcile that finds no
// write does not show there is none. Null for an action never sent. Rows from before that may
// have sent one (executing, or dead) take their `updated_at`, the latest it can have been.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('actions').addColumn('sent_at', 'bigint').execute();
  await sql`update actions set sent_at = updated_at where status in ('executing', 'dead')`.execute(
    db,
  );
}
