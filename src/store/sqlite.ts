import { sql } from 'kysely';
import { openSqliteConnection } from './sqlite-connection.js';
import { sqliteKysely } from './sqlite-kysely.js';
import type { Store } from './store.js';

/** A Store over a SQLite file; see `openSqliteConnection` for its durability. */
export function createSqliteStore(path: string): Store {
  const database = openSqliteConnection(path);
  const db = sqliteKysely(database);

  return {
    db,
    dialect: 'sqlite',
    url: `sqlite:${path}`,
    transaction: (fn) =>
      db.connection().execute(async (connection) => {
        await sql`begin immediate`.execute(connection);
        try {
          const result = await fn(connection);
          await sql`commit`.execute(connection);
          return result;
        } catch (error) {
          await sql`rollback`.execute(connection);
          throw error;
        }
      }),
    ping: async () => {
      await sql`select 1`.execute(db);
      return true;
    },
    close: () => db.destroy(),
  };
}
