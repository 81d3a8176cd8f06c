import type SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase as SqliteDialectDatabase } from 'kysely';
import { InlineLimits } from './inline-limits.js';
import { runPreparedDirectly } from './prepared-query.js';
import type { Database } from './schema.js';

// Apart from sqlite-connection.ts, which the checkpoint thread and the writer thread's entry
// load too: the checkpoint thread never builds a query, and Kysely's modules cost a thread
// megabytes (test/startup-imports.test.ts).

const STATEMENTS_KEPT = 500;

/**
 * Kysely on `connection`: each SQL text prepared once, integer limits written into it, and
 * prepared queries (`preparedQuery`) run on the connection directly while no transaction is
 * under way on it; during one they wait for it in Kysely's executor. With `sequential`, the
 * caller's queries never overlap and the transaction is theirs (the writer thread runs one op
 * at a time, and nothing else uses its connection): they always run directly.
 */
export function sqliteKysely(
  connection: SqliteDatabase.Database,
  options: { readonly sequential?: boolean } = {},
): Kysely<Database> {
  const statements = withStatementCache(connection);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: statements }),
    plugins: [new InlineLimits()],
  });
  // As Kysely's SQLite driver runs a query, without its lock and promises.
  runPreparedDirectly(db, (sql, parameters) => {
    if (!options.sequential && connection.inTransaction) return undefined;
    const statement = statements.prepare(sql);
    if (statement.reader) return { rows: statement.all(parameters) };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { rows: [], numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid) };
  });
  return db;
}

/**
 * The connection as Kysely's SqliteDialect takes it, with each SQL text prepared once: Kysely
 * prepares every query anew, and preparing cost about as much as running our small statements.
 * The oldest of more than 500 distinct texts (`in` lists of many lengths) are let go.
 */
function withStatementCache(
  connection: SqliteDatabase.Database,
): SqliteDialectDatabase & { prepare(sql: string): SqliteDatabase.Statement } {
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
