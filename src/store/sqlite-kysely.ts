import type SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase as SqliteDialectDatabase } from 'kysely';
import { InlineLimits } from './inline-limits.js';
import type { Database } from './schema.js';

// Apart from sqlite-connection.ts, which the checkpoint thread and the writer thread's entry
// load too: the checkpoint thread never builds a query, and Kysely's modules cost a thread
// megabytes (test/startup-imports.test.ts).

const STATEMENTS_KEPT = 500;

/** Kysely on `connection`: each SQL text prepared once, integer limits written into it. */
export function sqliteKysely(connection: SqliteDatabase.Database): Kysely<Database> {
  return new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(connection) }),
    plugins: [new InlineLimits()],
  });
}

/**
 * The connection as Kysely's SqliteDialect takes it, with each SQL text prepared once: Kysely
 * prepares every query anew, and preparing cost about as much as running our small statements.
 * The oldest of more than 500 distinct texts (`in` lists of many lengths) are let go.
 */
function withStatementCache(connection: SqliteDatabase.Database): SqliteDialectDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => connection.close(),
    prepare(sql) {
      let statement = statements.get(sql);
      if (!statement) {
        statement = connection.prepare(sql);
        statements.set(sql, statement);
        if (statements.size > STATEMENTS_KEPT) {
          statements.delete(statements.keys().next().value as string);
        }
      }
      return statement;
    },
  };
}
