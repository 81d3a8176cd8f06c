import { sql } from 'kysely';
import { AppError } from '../errors.js';
import { firstIdAt, type IdPrefix } from '../ids.js';
import type { PreventedWrite } from '../metrics/index.js';
import type { ActionStatus, ActivityKind, Store } from '../store/index.js';
import { minuteOf } from './activity-counts.js';

/** The time an overview covers, and how finely its series divides it. */
export interface OverviewWindow {
  /** Epoch ms, inclusive. */
  readonly since: number;
  /** Epoch ms, exclusive. */
  readonly until: number;
  /** Width of one entry of `series`, ms; at most 1000 entries. */
  readonly bucketMs: number;
}

/**
 * A class of wrong writes Airlock did not let through, by machine key:
 * - `duplicate_webhook`: a provider sent an event again; acknowledged, neither stored nor handed
 *   to agents a second time;
 * - `duplicate`: an agent sent a proposal again (same idempotency key); answered from the first,
 *   not executed a second time;
 * - `stale`: the record had changed since the agent read it; the write would have undone that
 *   change;
 * - `wrong_record`: the proposal targeted another record than the one its basis was about;
 * - `not_permitted`: the agent may not do that operation, or a policy rule forbids it;
 * - `loop`: an event caused by Airlock's own write; not handed back to an agent as news, so an
 *   agent does not answer its own change.
 */
export type PreventedClass = 'duplicate_webhook' | PreventedWrite | 'loop';

/** The order `Overview.prevented` lists them in: every class, counted or not. */
const PREVENTED_CLASSES: readonly PreventedClass[] = [
  'duplicate_webhook',
  'duplicate',
  'stale',
  'wrong_record',
  'not_permitted',
  'loop',
];

/** Counts over one bucket of the window; the bucket starts at `at` (epoch ms). */
export interface SeriesPoint {
  readonly at: number;
  /** Events stored (the first copy of each). */
  readonly received: number;
  /** Later copies of those events, recognised and dropped. */
  readonly duplicates: number;
  /** Webhook requests refused; counted per minute, in the bucket the minute starts in. */
  readonly rejected: number;
  /** Of the actions created in the bucket, by where they stand now. */
  readonly executed: number;
  /** `stale`, `denied`, `rejected` or `expired`: refused before anything was written. */
  readonly refused: number;
  /** `failed` or `dead`. */
  readonly failed: number;
}

/** Work waiting now, whatever the window. `oldest*` are epoch ms, null when nothing waits. */
export interface QueueState {
  readonly actionsQueued: number;
  readonly actionsExecuting: number;
  readonly approvalsPending: number;
  /** Deliveries to agents waiting their turn or handed over and not yet acknowledged. */
  readonly deliveriesPending: number;
  /** Deliveries given up on (attempts ran out), kept until their event is pruned. */
  readonly deliveriesDead: number;
  readonly oldestQueuedAt: number | null;
  readonly oldestApprovalAt: number | null;
  readonly oldestDeliveryAt: number | null;
}

/** What the dashboard's overview shows: plain data, counts over the window unless said. */
export interface Overview {
  readonly webhooks: {
    /** Events stored in the window, and the later copies of them that were dropped. */
    readonly bySource: readonly { source: string; received: number; duplicates: number }[];
    /** Requests refused before anything was stored; `reason` is the error code. */
    readonly rejected: readonly { source: string; reason: string; count: number }[];
  };
  /** Actions created in the window, by where each stands now. */
  readonly actions: { readonly byOutcome: Readonly<Record<ActionStatus, number>> };
  /** Every class, in a fixed order. */
  readonly prevented: readonly { kind: PreventedClass; count: number }[];
  readonly queues: QueueState;
  /** Failed writes to external systems: the HTTP status, `timeout` or `unsent`. */
  readonly connectorErrors: readonly { system: string; status: string; count: number }[];
  /** One entry per bucket from `since`, empty ones included; the last may be shorter. */
  readonly series: readonly SeriesPoint[];
}

const MAX_BUCKETS = 1_000;

/**
 * The overview of `window`. Events and actions are placed in time by their ids (UUIDv7: the
 * time they were created), so every count is a range over a primary key. Activity counts are
 * per minute: the window's edges round out to whole minutes for them.
 */
export async function readOverview(store: Store, window: OverviewWindow): Promise<Overview> {
  const buckets = bucketStarts(window);
  // One read after the other: a dashboard holds one pooled connection at a time, never enough
  // of the pool to keep the gateway's own work waiting.
  const events = await countEvents(store, buckets, window.until);
  const actions = await countActions(store, buckets, window.until);
  const activity = await sumActivity(store, window);
  const rejectedByMinute = await rejectedPerMinute(store, window);
  const loops = await countLoops(store, window);
  const queues = await readQueues(store);

  const series: Point[] = buckets.map((at) => ({
    at,
    received: 0,
    duplicates: 0,
    rejected: 0,
    executed: 0,
    refused: 0,
    failed: 0,
  }));
  const pointAt = (bucket: number) => series[bucket] as Point;
  const bySource = new Map<string, { source: string; received: number; duplicates: number }>();
  for (const row of events) {
    pointAt(row.bucket).received += row.received;
    pointAt(row.bucket).duplicates += row.duplicates;
    const source = bySource.get(row.source) ?? { source: row.source, received: 0, duplicates: 0 };
    source.received += row.received;
    source.duplicates += row.duplicates;
    bySource.set(row.source, source);
  }
  const byOutcome = {
    queued: 0,
    executing: 0,
    executed: 0,
    pending_approval: 0,
    failed: 0,
    stale: 0,
    denied: 0,
    dead: 0,
    rejected: 0,
    expired: 0,
  } satisfies Record<ActionStatus, number>;
  for (const row of actions) {
    byOutcome[row.status] += row.count;
    const column = SERIES_COLUMN[row.status];
    if (column) pointAt(row.bucket)[column] += row.count;
  }
  for (const row of rejectedByMinute) {
    // A minute that began before `since` counts in the first bucket.
    pointAt(Math.max(0, Math.floor((row.minute - window.since) / window.bucketMs))).rejected +=
      row.count;
  }

  const ofKind = (kind: ActivityKind) => activity.filter((row) => row.kind === kind);
  const duplicateWebhooks = events.reduce((sum, row) => sum + row.duplicates, 0);
  const preventedWrites = new Map(ofKind('write_prevented').map((row) => [row.reason, row.count]));
  return {
    webhooks: {
      bySource: [...bySource.values()].sort((a, b) => a.source.localeCompare(b.source)),
      rejected: ofKind('webhook_rejected').map((row) => ({
        source: row.subject,
        reason: row.reason,
        count: row.count,
      })),
    },
    actions: { byOutcome },
    prevented: PREVENTED_CLASSES.map((kind) => ({
      kind,
      count:
        kind === 'duplicate_webhook'
          ? duplicateWebhooks
          : kind === 'loop'
            ? loops
            : (preventedWrites.get(kind) ?? 0),
    })),
    queues,
    connectorErrors: ofKind('connector_error').map((row) => ({
      system: row.subject,
      status: row.reason,
      count: row.count,
    })),
    series,
  };
}

type Point = { -readonly [K in keyof SeriesPoint]: SeriesPoint[K] };

/** Which series column an action's status counts in; statuses not listed count in none. */
const SERIES_COLUMN: Partial<Record<ActionStatus, 'executed' | 'refused' | 'failed'>> = {
  executed: 'executed',
  stale: 'refused',
  denied: 'refused',
  rejected: 'refused',
  expired: 'refused',
  failed: 'failed',
  dead: 'failed',
};

/** The start of each bucket; throws `invalid-query` (400) for a window that cannot be drawn. */
function bucketStarts({ since, until, bucketMs }: OverviewWindow): number[] {
  const valid =
    Number.isSafeInteger(since) &&
    Number.isSafeInteger(until) &&
    Number.isSafeInteger(bucketMs) &&
    since >= 0 &&
    since < until &&
    bucketMs > 0 &&
    Math.ceil((until - since) / bucketMs) <= MAX_BUCKETS;
  if (!valid) {
    throw new AppError(
      'invalid-query',
      400,
      `expected whole epoch milliseconds since < until and at most ${MAX_BUCKETS} buckets, got since=${since} until=${until} bucketMs=${bucketMs}`,
    );
  }
  const starts: number[] = [];
  for (let at = since; at < until; at += bucketMs) starts.push(at);
  return starts;
}

/**
 * The buckets as a table of id ranges `[lo, hi)`, to join a table on its primary key. Used in a
 * cross join with the range in the WHERE clause: SQLite then walks the buckets outside and the
 * key range inside, one index range per bucket, rather than every row against every bucket.
 */
function idRanges(prefix: IdPrefix, starts: readonly number[], until: number) {
  const rows = starts.map((at, i) => {
    const lo = firstIdAt(prefix, at);
    const hi = firstIdAt(prefix, starts[i + 1] ?? until);
    return sql`select cast(${lo} as text) as lo, cast(${hi} as text) as hi`;
  });
  return sql<{ lo: string; hi: string }>`(${sql.join(rows, sql` union all `)})`.as('b');
}

/** The bucket of each range, by its `lo`. */
function bucketOfRange(prefix: IdPrefix, starts: readonly number[]): Map<string, number> {
  return new Map(starts.map((at, i) => [firstIdAt(prefix, at), i]));
}

async function countEvents(store: Store, starts: readonly number[], until: number) {
  const rows = await store.db
    .selectFrom(idRanges('evt', starts, until))
    .crossJoin('events as e')
    .whereRef('e.id', '>=', 'b.lo')
    .whereRef('e.id', '<', 'b.hi')
    .select((eb) => [
      'b.lo',
      'e.source',
      eb.fn.countAll().as('received'),
      eb.fn.sum('e.duplicates').as('duplicates'),
    ])
    .groupBy(['b.lo', 'e.source'])
    .execute();
  const bucketOf = bucketOfRange('evt', starts);
  // Aggregates may come back as strings (PostgreSQL's numeric sum): Number() each.
  return rows.map((row) => ({
    bucket: bucketOf.get(row.lo) as number,
    source: row.source,
    received: Number(row.received),
    duplicates: Number(row.duplicates),
  }));
}

async function countActions(store: Store, starts: readonly number[], until: number) {
  const rows = await store.db
    .selectFrom(idRanges('act', starts, until))
    .crossJoin('actions as a')
    .whereRef('a.id', '>=', 'b.lo')
    .whereRef('a.id', '<', 'b.hi')
    .select((eb) => ['b.lo', 'a.status', eb.fn.countAll().as('count')])
    .groupBy(['b.lo', 'a.status'])
    .execute();
  const bucketOf = bucketOfRange('act', starts);
  return rows.map((row) => ({
    bucket: bucketOf.get(row.lo) as number,
    status: row.status,
    count: Number(row.count),
  }));
}

/** Activity counts of the minutes the window touches, summed by kind, subject and reason. */
async function sumActivity(store: Store, { since, until }: OverviewWindow) {
  const rows = await store.db
    .selectFrom('activity_counts')
    .select((eb) => ['kind', 'subject', 'reason', eb.fn.sum('count').as('count')])
    .where('minute', '>=', minuteOf(since))
    .where('minute', '<', until)
    .groupBy(['kind', 'subject', 'reason'])
    .execute();
  return rows
    .map((row) => ({ ...row, count: Number(row.count) }))
    .sort((a, b) => b.count - a.count || a.subject.localeCompare(b.subject));
}

async function rejectedPerMinute(store: Store, { since, until }: OverviewWindow) {
  const rows = await store.db
    .selectFrom('activity_counts')
    .select((eb) => ['minute', eb.fn.sum('count').as('count')])
    .where('kind', '=', 'webhook_rejected')
    .where('minute', '>=', minuteOf(since))
    .where('minute', '<', until)
    .groupBy('minute')
    .execute();
  return rows.map((row) => ({ minute: Number(row.minute), count: Number(row.count) }));
}

/** Echo deliveries of the window's events: one per agent not handed its own change back. */
async function countLoops(store: Store, { since, until }: OverviewWindow): Promise<number> {
  const row = await store.db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('agent', 'in', subscribedAgents(store))
    .where('status', '=', 'echo')
    .where('event_id', '>=', firstIdAt('evt', since))
    .where('event_id', '<', firstIdAt('evt', until))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/**
 * Every agent that has deliveries: fan-out gives an agent its cursor before its first row.
 * Naming them lets a status filter use the `(agent, status, seq)` index instead of a scan.
 */
export function subscribedAgents(store: Store) {
  return store.db.selectFrom('dispatch_cursors').select('agent');
}

/** The actions, approvals and deliveries waiting now, with how long the oldest has waited. */
export async function readQueues(store: Store): Promise<QueueState> {
  const actions = await store.db
    .selectFrom('actions')
    .select((eb) => ['status', eb.fn.countAll().as('count'), eb.fn.min('created_at').as('oldest')])
    .where('status', 'in', ['queued', 'executing'])
    .groupBy('status')
    .execute();
  const approvals = await store.db
    .selectFrom('approvals')
    .select((eb) => [eb.fn.countAll().as('count'), eb.fn.min('created_at').as('oldest')])
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  const deliveries = await store.db
    .selectFrom('deliveries')
    .select((eb) => ['status', eb.fn.countAll().as('count'), eb.fn.min('created_at').as('oldest')])
    .where('agent', 'in', subscribedAgents(store))
    .where('status', 'in', ['pending', 'leased', 'dead'])
    .groupBy('status')
    .execute();
  const count = (rows: readonly { status: string; count: unknown }[], ...statuses: string[]) =>
    rows
      .filter((row) => statuses.includes(row.status))
      .reduce((sum, row) => sum + Number(row.count), 0);
  const oldest = (values: readonly unknown[]) => {
    const times = values.filter((value) => value !== null && value !== undefined).map(Number);
    return times.length > 0 ? Math.min(...times) : null;
  };
  const open = deliveries.filter((row) => row.status === 'pending' || row.status === 'leased');
  return {
    actionsQueued: count(actions, 'queued'),
    actionsExecuting: count(actions, 'executing'),
    approvalsPending: Number(approvals.count),
    deliveriesPending: count(deliveries, 'pending', 'leased'),
    deliveriesDead: count(deliveries, 'dead'),
    oldestQueuedAt: oldest(actions.filter((row) => row.status === 'queued').map((r) => r.oldest)),
    oldestApprovalAt: oldest([approvals.oldest]),
    oldestDeliveryAt: oldest(open.map((row) => row.oldest)),
  };
}
