import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';
import type { Store } from './store.js';

const INT8_OID = 20;

/**
 * Connects to PostgreSQL. A `schema` query parameter (`postgres://…/db?schema=tenant_a`) puts
 * Airlock's tables in that schema, created if missing (unless `createSchema` is false). Commits are durable when they return
 * under the server's default `synchronous_commit = on`.
 */
export async function createPostgresStore(
  url: string,
  poolSize: number,
  { createSchema: create = true } = {},
): Promise<Store> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`store.url: schema must be a lower-case SQL identifier, got "${schema}"`);
  }
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: poolSize,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    // Timestamps are epoch milliseconds in BIGINT columns, well inside Number's exact range.
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? Number
          : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
    },
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  if (schema && create) await createSchema(db, schema);

  return {
    db,
    dialect: 'postgres',
    url,
    transaction: (fn) => db.transaction().execute(fn),
    ping: async () => {
      await sql`select 1`.execute(db);
      return true;
    },
    close: () => db.destroy(),
  };
}

async function createSchema(db: Kysely<Database>, schema: string): Promise<void> {
  try {
    await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (error) {
    // Two instances creating it at once: one of them gets a unique violation; the schema exists.
    if ((error as { code?: string }).code !== '23505') throw error;
  }
}
