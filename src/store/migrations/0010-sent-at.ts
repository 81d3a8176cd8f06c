import type { Kysely } from 'kysely';

// When an action's last write was sent (its attempt marked `executing`): until the connector's
// `lateWriteWindow` has passed since, that write may still land, and a reconcile that finds no
// write does not show there is none. Null for rows from before: their `updated_at` stands in.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('actions').addColumn('sent_at', 'bigint').execute();
}
