import type { Kysely, Selectable } from 'kysely';
import type { AuditTable, Database } from '../store/index.js';

export type AuditRow = Selectable<AuditTable>;

export interface ReadAuditOptions {
  /** Only entries with `at` at or after this, in epoch ms. Default: all. */
  readonly sinceMs?: number;
  /** Rows per query. Default 500. */
  readonly pageSize?: number;
}

/**
 * The log's rows in seq order, read a page at a time so a long log is never all in memory. Each
 * page is its own query: rows appended meanwhile are read too, and since seq is assigned under
 * the append lock and committed in order, a page never skips a seq that commits later.
 */
export async function* readAudit(
  db: Kysely<Database>,
  options: ReadAuditOptions = {},
): AsyncGenerator<AuditRow> {
  const pageSize = options.pageSize ?? 500;
  let after: number | undefined;
  for (;;) {
    let query = db.selectFrom('audit_log').selectAll().orderBy('seq').limit(pageSize);
    if (after !== undefined) query = query.where('seq', '>', after);
    if (options.sinceMs !== undefined) query = query.where('at', '>=', options.sinceMs);
    const rows = await query.execute();
    yield* rows;
    const last = rows.at(-1);
    if (!last || rows.length < pageSize) return;
    after = last.seq;
  }
}
