import { AppError } from '../errors.js';
import { firstIdAt } from '../ids.js';
import { checkPageCursor, checkPageLimit } from '../page-limit.js';
import type { ActionStatus, Store } from '../store/index.js';
import { type ActionView, toActionView } from './action-view.js';

/** One action; throws `action-not-found` (404). An agent sees only its own actions. */
export async function getAction(store: Store, id: string, agent?: string): Promise<ActionView> {
  let query = store.db.selectFrom('actions').selectAll().where('id', '=', id);
  if (agent !== undefined) query = query.where('agent', '=', agent);
  const row = await query.executeTakeFirst();
  if (!row)
    throw new AppError('action-not-found', 404, `no action ${id}`, { details: { action: id } });
  return toActionView(row);
}

export interface ListActionsQuery {
  /** Only actions in one of these statuses; absent or empty: every status. */
  readonly status?: readonly ActionStatus[] | undefined;
  /** Only this agent's actions; absent: every agent's (operators see them all). */
  readonly agent?: string | undefined;
  /** Only actions on this system's records (the `system` of `system:type:id`). */
  readonly system?: string | undefined;
  /** Created at or after, epoch ms. */
  readonly since?: number | undefined;
  /** Created before, epoch ms. */
  readonly until?: number | undefined;
  /** 1–500. */
  readonly limit: number;
  /** The `next` of the previous page. */
  readonly cursor?: string | undefined;
}

/** An action as operators list it: as agents see it, and which agent proposed it. */
export interface ListedAction extends ActionView {
  readonly agent: string;
}

export interface ActionPage {
  readonly items: ListedAction[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  readonly next: string | null;
}

/**
 * Actions newest first, filtered, paged by keyset on the id. Ids start with their creation time
 * (UUIDv7), so the time window is a range of the primary key. Throws `invalid-query` (400) for
 * a limit out of range or a cursor that is not an action id.
 */
export async function listActions(store: Store, query: ListActionsQuery): Promise<ActionPage> {
  const { limit } = query;
  checkPageLimit(limit);
  checkPageCursor(query.cursor, 'act');
  let select = store.db
    .selectFrom('actions')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(limit + 1);
  if (query.status && query.status.length > 0) select = select.where('status', 'in', query.status);
  if (query.agent !== undefined) select = select.where('agent', '=', query.agent);
  if (query.system !== undefined) {
    // Compared by prefix, since LIKE would read a `_` in the name as a wildcard.
    const prefix = `${query.system}:`;
    select = select.where((eb) =>
      eb(eb.fn('substr', ['record_key', eb.lit(1), eb.lit(prefix.length)]), '=', prefix),
    );
  }
  if (query.since !== undefined) select = select.where('id', '>=', firstIdAt('act', query.since));
  if (query.until !== undefined) select = select.where('id', '<', firstIdAt('act', query.until));
  if (query.cursor !== undefined) select = select.where('id', '<', query.cursor);
  const rows = await select.execute();
  const page = rows.slice(0, limit);
  return {
    items: page.map((row) => ({ ...toActionView(row), agent: row.agent })),
    next: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
  };
}
