import type { Kysely } from 'kysely';
import type { ActivityKind, Database, OpRunner } from '../store/index.js';

/** Activity is counted per minute: a window's edges round out to whole minutes. */
export const MINUTE_MS = 60_000;

/** The start of the minute `at` (epoch ms) falls in. */
export function minuteOf(at: number): number {
  return Math.floor(at / MINUTE_MS) * MINUTE_MS;
}

/** Occurrences of one kind, subject and reason within one minute, to be added to the store. */
export interface ActivityRow {
  readonly kind: ActivityKind;
  readonly subject: string;
  readonly reason: string;
  /** Epoch ms at the start of the minute. */
  readonly minute: number;
  readonly count: number;
  /** Epoch ms of the latest occurrence counted. */
  readonly last_at: number;
}

/** Rows per statement: 6 parameters each, well under either database's limit. */
const ROWS_PER_INSERT = 200;

/**
 * Adds counts to `activity_counts`, one upsert per row: instances counting the same minute add
 * up, and the latest occurrence wins `last_at`. Rows must have distinct keys.
 */
export async function recordActivity(
  db: Kysely<Database>,
  args: { rows: readonly ActivityRow[] },
): Promise<void> {
  for (let start = 0; start < args.rows.length; start += ROWS_PER_INSERT) {
    await db
      .insertInto('activity_counts')
      .values(args.rows.slice(start, start + ROWS_PER_INSERT))
      .onConflict((oc) =>
        oc.columns(['kind', 'subject', 'reason', 'minute']).doUpdateSet((eb) => ({
          count: eb('activity_counts.count', '+', eb.ref('excluded.count')),
          // max() of two values is spelt differently in SQLite and PostgreSQL; CASE is not.
          last_at: eb
            .case()
            .when('excluded.last_at', '>', eb.ref('activity_counts.last_at'))
            .then(eb.ref('excluded.last_at'))
            .else(eb.ref('activity_counts.last_at'))
            .end(),
        })),
      )
      .execute();
  }
}

/** The writes of activity counting, as store ops (store/op-runner.ts). */
export const activityOps = { recordActivity };

export type ActivityOps = OpRunner<typeof activityOps>;

/**
 * Deletes up to `limit` counts of minutes that ended before `before` (epoch ms); the number
 * deleted. Run with the events' retention, so the overview never shows rejections beside events
 * long gone; a store op (`pruneActivity` of `pruneOps`), run in batches.
 */
export async function pruneActivity(
  db: Kysely<Database>,
  before: number,
  limit = 1000,
): Promise<number> {
  const result = await db
    .deleteFrom('activity_counts')
    .where(({ eb, refTuple, selectFrom }) =>
      eb(
        refTuple('kind', 'subject', 'reason', 'minute'),
        'in',
        selectFrom('activity_counts')
          .select(['kind', 'subject', 'reason', 'minute'])
          .where('minute', '<=', before - MINUTE_MS)
          .limit(limit)
          .$asTuple('kind', 'subject', 'reason', 'minute'),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
