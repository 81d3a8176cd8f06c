import type { Kysely } from 'kysely';
import { migrations as allMigrations, type Migration } from './migrations/index.js';
import type { Store } from './store.js';

/**
 * Applies the migrations not yet applied, each in its own transaction that records itself
 * first: a second instance starting at the same time blocks on that row (PostgreSQL) or on the
 * write lock (SQLite) and then skips the migration the first one applied.
 */
export async function migrate(
  store: Store,
  migrations: readonly Migration[] = allMigrations,
): Promise<string[]> {
  await store.db.schema
    .createTable('airlock_migrations')
    .ifNotExists()
    .addColumn('name', 'text', (col) => col.primaryKey())
    .addColumn('applied_at', 'bigint', (col) => col.notNull())
    .execute()
    .catch(ignoreConcurrentCreate);

  const applied: string[] = [];
  for (const migration of migrations) {
    const ran = await store.transaction(async (trx) => {
      const claimed = await trx
        .insertInto('airlock_migrations')
        .values({ name: migration.name, applied_at: Date.now() })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      if (Number(claimed.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await migration.up(trx as Kysely<unknown>, store.dialect);
      return true;
    });
    if (ran) applied.push(migration.name);
  }
  return applied;
}

function ignoreConcurrentCreate(error: unknown): void {
  // PostgreSQL: two `create table if not exists` at once, one fails on the catalog's unique index
  // (23505), on the table (42P07), or on the table's row type (42710, "type … already exists").
  const code = (error as { code?: string }).code;
  if (code !== '23505' && code !== '42P07' && code !== '42710') throw error;
}
