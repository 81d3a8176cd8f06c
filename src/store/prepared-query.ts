import type { Compilable, CompiledQuery, Kysely, QueryResult } from 'kysely';
import type { Database } from './schema.js';

/** Where a prepared query's value goes: replaced by the value of that name at each run. */
class Slot {
  constructor(readonly name: string) {}
}

/**
 * Runs a compiled query's SQL with its parameters, as the dialect's driver would; or declines
 * (undefined), and the query goes through Kysely's executor.
 */
export type RunCompiled = (
  sql: string,
  parameters: readonly unknown[],
) => QueryResult<unknown> | undefined;

const direct = new WeakMap<Kysely<Database>, RunCompiled>();

/**
 * Has `preparedQuery` run its queries on `db` through `run`, not through Kysely's executor. On
 * SQLite, whose driver is synchronous, the executor's connection lock, plugin result hooks and
 * the promises between them were about a sixth of the writer thread's CPU for an action's two
 * ops. `run` must decline whenever the lock has something to order (a transaction under way on
 * the connection), and `db`'s plugins must leave results as they are.
 */
export function runPreparedDirectly(db: Kysely<Database>, run: RunCompiled): void {
  direct.set(db, run);
}

/**
 * A query that is built and compiled once per `db` and set of value names, then run many times
 * with new values. Kysely builds a query's tree and compiles it to SQL anew on every call; on the
 * store's writer thread that took about a fifth of its time (`npm run bench:actions`), more than
 * SQLite took to run the statements.
 *
 * `build` gets stand-ins for the values: an object with the same names (those whose value is not
 * `undefined`, which Kysely leaves out of an insert or update too). So `values(row)` and
 * `set(patch)` work with the stand-in as with the values. The query's shape must depend on the
 * names alone: use the stand-ins only where Kysely takes a value as a parameter (a compared value,
 * an inserted or set column, a limit), never as a list, a column name or something tested in
 * JavaScript.
 *
 * Compiled per `db` object: a transaction on PostgreSQL is a new one each time, so there it is
 * built as often as before; the SQLite writer's and the store's own `db` keep theirs.
 */
export function preparedQuery<V extends object, R>(
  build: (db: Kysely<Database>, values: V) => Compilable<R>,
): (db: Kysely<Database>, values: V) => Promise<QueryResult<R>> {
  const compiled = new WeakMap<Kysely<Database>, Map<string, CompiledQuery<R>>>();
  return (db, values) => {
    const given = values as Record<string, unknown>;
    const names = Object.keys(given).filter((name) => given[name] !== undefined);
    const shape = names.join(',');
    let queries = compiled.get(db);
    if (!queries) {
      queries = new Map();
      compiled.set(db, queries);
    }
    let query = queries.get(shape);
    if (!query) {
      const standIns = Object.fromEntries(names.map((name) => [name, new Slot(name)]));
      query = build(db, standIns as V).compile();
      queries.set(shape, query);
    }
    const parameters = query.parameters.map((parameter) =>
      parameter instanceof Slot ? given[parameter.name] : parameter,
    );
    let result: QueryResult<unknown> | undefined;
    try {
      result = direct.get(db)?.(query.sql, parameters);
    } catch (error) {
      // A failed statement fails the promise, as through Kysely, never the call.
      return Promise.reject(error);
    }
    if (result) return Promise.resolve(result as QueryResult<R>);
    return db.executeQuery({ ...query, parameters });
  };
}
