import { checkPageLimit } from '../page-limit.js';
import type { Store } from '../store/index.js';
import { minuteOf } from './activity-counts.js';
import { subscribedAgents } from './overview.js';

export type ErrorKind =
  | 'action_failed'
  | 'action_dead'
  | 'delivery_dead'
  | 'webhook_rejected'
  | 'connector_error';

/** One thing that went wrong, or several of a kind counted in one minute (`count`). */
export interface ErrorItem {
  readonly kind: ErrorKind;
  /** Epoch ms: when the action or delivery ended, or the minute's latest occurrence. */
  readonly at: number;
  /** A connector's system for actions and connector errors; `webhooks` for the inbox's own. */
  readonly system: string;
  readonly summary: string;
  readonly count: number;
  /** What to open for more: the action, or the event, its delivery and the agent. */
  readonly ids: {
    readonly action?: string;
    readonly event?: string;
    readonly delivery?: string;
    readonly agent?: string;
  };
}

export interface ErrorQuery {
  /** Only items of this `system` (exactly). */
  readonly system?: string | undefined;
  /** Epoch ms, inclusive. */
  readonly since?: number | undefined;
  /** Epoch ms, exclusive. */
  readonly until?: number | undefined;
  /** 1–500. */
  readonly limit: number;
}

/** The `system` of errors about webhooks coming in and events going out to agents. */
const WEBHOOKS = 'webhooks';

/**
 * Failed and dead actions, dead deliveries, refused webhook requests and failed connector calls,
 * newest first, in one list. Refusals and connector errors come one item per minute and reason,
 * with their count. Throws `invalid-query` (400) for a limit out of range.
 */
export async function listErrors(store: Store, query: ErrorQuery): Promise<ErrorItem[]> {
  const { limit } = query;
  checkPageLimit(limit);
  const webhooks = query.system === undefined || query.system === WEBHOOKS;
  // Each source's newest `limit`, one read after the other (one pooled connection at a time);
  // merged, the newest `limit` of all.
  const items = await failedActions(store, query);
  if (webhooks) items.push(...(await deadDeliveries(store, query)));
  if (webhooks) items.push(...(await activityErrors(store, 'webhook_rejected', query)));
  items.push(...(await activityErrors(store, 'connector_error', query)));
  return items.sort((a, b) => b.at - a.at).slice(0, limit);
}

async function failedActions(store: Store, query: ErrorQuery): Promise<ErrorItem[]> {
  let select = store.db
    .selectFrom('actions')
    .select(['id', 'agent', 'operation', 'record_key', 'status', 'error', 'updated_at'])
    .where('status', 'in', ['failed', 'dead'])
    .orderBy('updated_at', 'desc')
    .limit(query.limit);
  if (query.since !== undefined) select = select.where('updated_at', '>=', query.since);
  if (query.until !== undefined) select = select.where('updated_at', '<', query.until);
  if (query.system !== undefined) {
    // The record key is `system:type:id`; compared by prefix, since LIKE would read `_` as a wildcard.
    const prefix = `${query.system}:`;
    select = select.where((eb) =>
      eb(eb.fn('substr', ['record_key', eb.lit(1), eb.lit(prefix.length)]), '=', prefix),
    );
  }
  const rows = await select.execute();
  return rows.map((row) => ({
    kind: row.status === 'dead' ? 'action_dead' : 'action_failed',
    at: row.updated_at,
    system: row.record_key.slice(0, row.record_key.indexOf(':')),
    summary: `${row.operation}: ${errorMessage(row.error) ?? row.status}`,
    count: 1,
    ids: { action: row.id, agent: row.agent },
  }));
}

/** The message of a stored error (`{ code, message, … }`), when it has one. */
function errorMessage(stored: string | null): string | null {
  if (stored === null) return null;
  const error = JSON.parse(stored) as { message?: unknown };
  return typeof error.message === 'string' ? error.message : null;
}

async function deadDeliveries(store: Store, query: ErrorQuery): Promise<ErrorItem[]> {
  let select = store.db
    .selectFrom('deliveries')
    .select(['agent', 'event_id', 'delivery_id', 'last_error', 'updated_at'])
    .where('agent', 'in', subscribedAgents(store))
    .where('status', '=', 'dead')
    .orderBy('updated_at', 'desc')
    .limit(query.limit);
  if (query.since !== undefined) select = select.where('updated_at', '>=', query.since);
  if (query.until !== undefined) select = select.where('updated_at', '<', query.until);
  const rows = await select.execute();
  return rows.map((row) => ({
    kind: 'delivery_dead',
    at: row.updated_at,
    system: WEBHOOKS,
    summary: `not delivered to ${row.agent}: ${row.last_error ?? 'attempts ran out'}`,
    count: 1,
    ids: {
      event: row.event_id,
      agent: row.agent,
      ...(row.delivery_id === null ? {} : { delivery: row.delivery_id }),
    },
  }));
}

async function activityErrors(
  store: Store,
  kind: 'webhook_rejected' | 'connector_error',
  query: ErrorQuery,
): Promise<ErrorItem[]> {
  let select = store.db
    .selectFrom('activity_counts')
    .select(['subject', 'reason', 'count', 'last_at'])
    .where('kind', '=', kind)
    .orderBy('last_at', 'desc')
    .limit(query.limit);
  if (query.since !== undefined) {
    // The minute bound lets the minute index narrow the rows; last_at is the exact edge.
    select = select
      .where('minute', '>=', minuteOf(query.since))
      .where('last_at', '>=', query.since);
  }
  if (query.until !== undefined) select = select.where('last_at', '<', query.until);
  if (kind === 'connector_error' && query.system !== undefined) {
    select = select.where('subject', '=', query.system);
  }
  const rows = await select.execute();
  return rows.map((row) =>
    kind === 'webhook_rejected'
      ? {
          kind,
          at: row.last_at,
          system: WEBHOOKS,
          summary: `${row.reason} from source ${row.subject}`,
          count: row.count,
          ids: {},
        }
      : {
          kind,
          at: row.last_at,
          system: row.subject,
          summary: /^\d+$/.test(row.reason) ? `HTTP ${row.reason}` : row.reason,
          count: row.count,
          ids: {},
        },
  );
}
