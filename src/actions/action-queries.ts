import { appendAudit } from '../audit/index.js';
import { AppError } from '../errors.js';
import { firstIdAt } from '../ids.js';
import { checkPageCursor, checkPageLimit } from '../page-limit.js';
import type { ActionStatus, Store } from '../store/index.js';
import { type ActionView, toActionView } from './action-view.js';
import { lockRecord } from './outbox.js';
import { type RateLimitRule, takeRateLimitSlots } from './rate-limits.js';

/** One action; throws `action-not-found` (404). An agent sees only its own actions. */
export async function getAction(store: Store, id: string, agent?: string): Promise<ActionView> {
  let query = store.db.selectFrom('actions').selectAll().where('id', '=', id);
  if (agent !== undefined) query = query.where('agent', '=', agent);
  const row = await query.executeTakeFirst();
  if (!row)
    throw new AppError('action-not-found', 404, `no action ${id}`, { details: { action: id } });
  return toActionView(row);
}

/**
 * Puts a failed or dead action back in the queue (`airlock actions retry`). The worker re-reads
 * the record and runs policy again before it executes; a record that moved on since the action's
 * basis is refused as stale. A dead action's last attempt may have been sent, so it goes back as
 * `executing`: the next attempt looks for that write before anything else. Throws
 * `action-not-found`, `not-retryable` (409), `record-busy` (409) while another action of the
 * record is queued or executing, or `policy-denied` (403) when a rate limit it must take a slot
 * of again is full.
 */
export async function retryAction(
  store: Store,
  id: string,
  now: number,
  rateLimits: readonly RateLimitRule[] = [],
  /** Who asked, recorded with the retry: an operator's name, or `cli:<OS user>`. */
  by: string | null = null,
): Promise<ActionView> {
  return store.transaction(async (trx) => {
    const read = () =>
      trx
        .selectFrom('actions')
        .select(['status', 'record_key', 'operation', 'agent', 'sent_at'])
        .where('id', '=', id)
        .executeTakeFirst();
    const found = await read();
    if (!found)
      throw new AppError('action-not-found', 404, `no action ${id}`, { details: { action: id } });
    // Two retries of one record's actions at once both found it free, on two instances.
    await lockRecord(trx, found.record_key, store.dialect);
    const row = (await read()) ?? found;
    if (row.status !== 'failed' && row.status !== 'dead') {
      throw new AppError(
        'not-retryable',
        409,
        `action ${id} is ${row.status}; only failed or dead actions are retried`,
        { details: { action: id, status: row.status } },
      );
    }
    // Back in line behind one already there, the two would each wait for the other for ever.
    const busy = await trx
      .selectFrom('actions')
      .select('id')
      .where('record_key', '=', row.record_key)
      .where('id', '!=', id)
      .where('status', 'in', ['queued', 'executing'])
      .executeTakeFirst();
    if (busy) {
      throw new AppError(
        'record-busy',
        409,
        `action ${busy.id} of the same record is still under way; retry ${id} when it has ended`,
        { details: { action: id, busy: busy.id } },
      );
    }
    // The slots it gave back when it ended without an effect, or that ran out since, it takes
    // again, or the retry is refused (403 policy-denied) like a new proposal over the limit.
    // One that ran out counts no more: another action may have taken its place meanwhile.
    const held = await trx
      .selectFrom('rate_limit_slots')
      .select('rule')
      .where('action_id', '=', id)
      .where('expires_at', '>', now)
      .execute();
    const holds = new Set(held.map((slot) => slot.rule));
    await takeRateLimitSlots(
      trx,
      rateLimits.filter((rule) => !holds.has(rule.name)),
      { id, operation: row.operation, agent: row.agent, recordKey: row.record_key },
      now,
    );
    const updated = await trx
      .updateTable('actions')
      .set({
        // Dead after a write was sent, it is reconciled first; never sent, it simply runs.
        status: row.status === 'dead' && row.sent_at !== null ? 'executing' : 'queued',
        lease_owner: null,
        lease_until: null,
        next_attempt_at: now,
        attempts: 0,
        updated_at: now,
        error: null,
      })
      .where('id', '=', id)
      .where('status', '=', row.status)
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendAudit(
      trx,
      { kind: 'action', subject: id, change: 'retried', at: now, data: { from: row.status, by } },
      store.dialect,
    );
    return toActionView(updated);
  });
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
