import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import { appendAudits } from '../audit/append-audit.js';
import type { AuditEntry } from '../audit/entry-hash.js';
import { recordKey } from '../connectors/connector.js';
import { AppError } from '../errors.js';
import { newId } from '../ids.js';
import { eventPayload } from '../ingest/events.js';
import type { Database, DeliveryStatus, DeliveryTable } from '../store/schema.js';
import type { Dialect } from '../store/store.js';
import { actionOfPayload } from '../trace/echo.js';
import { type Subscription, subscribes, supersedable } from './subscriptions.js';

// Every write of event delivery, as store ops (store/op-runner.ts): plain data in and out.

/**
 * Serialises the ops that change one agent's deliveries (lease, ack, nack, redeliver) across
 * gateway instances: each reads rows and then changes them, which under READ COMMITTED would
 * otherwise overwrite a change committed in between. SQLite's write transaction does it there.
 */
async function lockAgent(db: Kysely<Database>, dialect: Dialect, agent: string): Promise<void> {
  if (dialect === 'postgres') {
    await sql`select pg_advisory_xact_lock(hashtext(${`dispatch:${agent}`}))`.execute(db);
  }
}

/** Orders fan-outs across gateway instances; outside the int4 range of the per-record locks. */
const FANOUT_LOCK_KEY = 0x44_69_73_70_61; // "Dispa"
/** Most events of one record handed over together under a settle window. */
const MAX_EVENTS_PER_DELIVERY = 50;
/** Longest wait before another attempt, whatever the attempt count or a Retry-After says. */
export const MAX_RETRY_DELAY_MS = 3_600_000;
/**
 * When a delivery never handed over (its system did not answer) is tried again, given how long
 * it has waited: a quarter of that, from 1 s to 5 min. Its attempts are not counted, so the wait
 * so far stands in for them: a blip is tried again within a second or two, an outage less and
 * less often.
 */
export function unsentDelayMs(waitingMs: number): number {
  return Math.min(Math.max(waitingMs / 4, 1_000), 300_000);
}

type Row = Selectable<DeliveryTable>;

export interface FanOutResult {
  /** Audit entries looked at; fewer than the limit means caught up. */
  readonly scanned: number;
  /** The last audit sequence number looked at. */
  readonly seq: number;
  /** New rows per agent. */
  readonly inserted: Readonly<Record<string, number>>;
}

/**
 * Turns events committed since each agent's cursor into delivery rows for the agents that
 * subscribe to them. It walks the audit log, whose sequence numbers are handed out under the
 * chain lock until commit: an event can never commit below a number already walked past, so no
 * event is missed, across instances too. An agent seen for the first time starts at the head.
 */
export async function fanOut(
  db: Kysely<Database>,
  args: {
    subscriptions: readonly Subscription[];
    now: number;
    limit: number;
    dialect: Dialect;
  },
): Promise<FanOutResult> {
  if (args.dialect === 'postgres') {
    await sql`select pg_advisory_xact_lock(${sql.lit(FANOUT_LOCK_KEY)})`.execute(db);
  }
  const head = await db
    .selectFrom('audit_log')
    .select((eb) => eb.fn.coalesce(eb.fn.max('seq'), eb.lit(0)).as('seq'))
    .executeTakeFirstOrThrow();
  const cursors = new Map(
    (await db.selectFrom('dispatch_cursors').selectAll().execute()).map((row) => [
      row.agent,
      Number(row.seq),
    ]),
  );
  for (const { agent } of args.subscriptions) {
    if (cursors.has(agent)) continue;
    cursors.set(agent, Number(head.seq));
    await db
      .insertInto('dispatch_cursors')
      .values({ agent, seq: Number(head.seq) })
      .onConflict((oc) => oc.column('agent').doNothing())
      .execute();
  }
  const from = Math.min(...args.subscriptions.map(({ agent }) => cursors.get(agent) ?? 0));
  const entries = await db
    .selectFrom('audit_log')
    .select(['seq', 'kind', 'change', 'subject'])
    .where('seq', '>', from)
    .orderBy('seq')
    .limit(args.limit)
    .execute();
  const last = entries.length > 0 ? Number(entries.at(-1)?.seq) : from;
  const received = new Map(
    entries
      .filter((entry) => entry.kind === 'event' && entry.change === 'received')
      .map((entry) => [entry.subject, Number(entry.seq)]),
  );
  const inserted: Record<string, number> = {};
  const rows: Insertable<DeliveryTable>[] = [];
  for (const event of await loadEvents(db, [...received.keys()])) {
    const seq = received.get(event.id) as number;
    const takers = args.subscriptions.filter(
      (sub) => seq > (cursors.get(sub.agent) ?? 0) && subscribes(sub, event.source, event.type),
    );
    if (takers.length === 0) continue;
    const echoOf = await echoedAction(db, eventPayload(event.body, event.item_index));
    for (const sub of takers) {
      rows.push({
        agent: sub.agent,
        event_id: event.id,
        seq,
        record_key:
          event.record_system && event.record_type && event.record_id
            ? recordKey({
                system: event.record_system,
                type: event.record_type,
                id: event.record_id,
              })
            : `event:${event.id}`,
        occurred_at: event.occurred_at,
        status: echoOf && sub.suppressEchoes ? 'echo' : 'pending',
        echo_of: echoOf,
        delivery_id: null,
        attempts: 0,
        next_attempt_at: event.received_at + sub.settleMs,
        lease_until: null,
        context_revision: null,
        last_error: null,
        created_at: args.now,
        updated_at: args.now,
        supersedable: supersedable(sub, event.type) ? 1 : 0,
      });
      inserted[sub.agent] = (inserted[sub.agent] ?? 0) + 1;
    }
  }
  for (let start = 0; start < rows.length; start += 200) {
    await db
      .insertInto('deliveries')
      .values(rows.slice(start, start + 200))
      .onConflict((oc) => oc.columns(['agent', 'event_id']).doNothing())
      .execute();
  }
  if (last > from) {
    await db
      .updateTable('dispatch_cursors')
      .set({ seq: last })
      .where(
        'agent',
        'in',
        args.subscriptions.map(({ agent }) => agent),
      )
      .where('seq', '<', last)
      .execute();
  }
  return { scanned: entries.length, seq: last, inserted };
}

async function loadEvents(db: Kysely<Database>, ids: readonly string[]) {
  const events = [];
  for (let start = 0; start < ids.length; start += 500) {
    events.push(
      ...(await db
        .selectFrom('events')
        .innerJoin('webhook_requests', 'webhook_requests.id', 'events.request_id')
        .selectAll('events')
        .select('webhook_requests.body')
        .where('events.id', 'in', ids.slice(start, start + 500))
        .execute()),
    );
  }
  return events;
}

/** The stored action a payload says caused it; an id Airlock never issued is not an echo. */
async function echoedAction(db: Kysely<Database>, payload: unknown): Promise<string | null> {
  const id = actionOfPayload(payload);
  if (id === null) return null;
  const found = await db.selectFrom('actions').select('id').where('id', '=', id).executeTakeFirst();
  return found ? id : null;
}

/** A hand-over: one record's next events, leased to the agent. */
export interface LeasedDelivery {
  readonly id: string;
  readonly recordKey: string;
  /** Event ids in delivery order. */
  readonly events: readonly string[];
  /** The highest attempt number among its events (1 on the first hand-over). */
  readonly attempt: number;
  readonly leaseUntil: number;
}

/**
 * Leases up to `max` deliveries of `agent`: for each record with nothing handed over and not
 * acknowledged, its oldest pending event when due, and with `coalesce` the record's other
 * pending events too. A delivery handed over before goes out again as it was (the same id and
 * events), so a receiver can drop a repeat by its id. Before choosing:
 * - an event older than one the agent acknowledged for its record is marked superseded, unless
 *   it is news however late (`neverSupersede`: a message, a comment);
 * - a delivery whose lease ran out with no attempts left is dead-lettered.
 */
export async function leaseDeliveries(
  db: Kysely<Database>,
  args: {
    agent: string;
    now: number;
    max: number;
    leaseMs: number;
    maxAttempts: number;
    coalesce: boolean;
    dialect: Dialect;
  },
): Promise<LeasedDelivery[]> {
  const { agent, now } = args;
  await lockAgent(db, args.dialect, agent);
  const audit: AuditEntry[] = [];
  const superseded = await db
    .updateTable('deliveries as d')
    .set({ status: 'superseded', updated_at: now })
    .where('d.agent', '=', agent)
    .where('d.status', '=', 'pending')
    .where('d.delivery_id', 'is', null)
    .where('d.supersedable', '=', 1)
    .where('d.occurred_at', 'is not', null)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('deliveries as a')
          .select('a.event_id')
          .whereRef('a.agent', '=', 'd.agent')
          .whereRef('a.record_key', '=', 'd.record_key')
          .where('a.status', '=', 'acked')
          .whereRef('a.occurred_at', '>', 'd.occurred_at'),
      ),
    )
    .returning('event_id')
    .execute();
  for (const { event_id } of superseded) {
    audit.push({
      kind: 'event',
      subject: event_id,
      change: 'superseded',
      at: now,
      data: { agent },
    });
  }
  const exhausted = await db
    .updateTable('deliveries')
    .set({ status: 'dead', last_error: 'the lease ran out on the last attempt', updated_at: now })
    .where('agent', '=', agent)
    .where('status', '=', 'leased')
    .where('lease_until', '<=', now)
    .where('attempts', '>=', args.maxAttempts)
    .returning(['event_id', 'delivery_id'])
    .execute();
  for (const row of exhausted) audit.push(deadEntry(row.event_id, agent, row.delivery_id, now));

  const heads = await db
    .selectFrom('deliveries as d')
    .selectAll('d')
    .where('d.agent', '=', agent)
    .where((eb) =>
      eb.or([
        eb('d.status', '=', 'pending'),
        eb.and([eb('d.status', '=', 'leased'), eb('d.lease_until', '<=', now)]),
      ]),
    )
    .where('d.next_attempt_at', '<=', now)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('deliveries as p')
            .select('p.event_id')
            .whereRef('p.agent', '=', 'd.agent')
            .whereRef('p.record_key', '=', 'd.record_key')
            .where((eb) =>
              eb.or([
                // An earlier event of the record is still to be settled…
                eb.and([
                  eb('p.seq', '<', eb.ref('d.seq')),
                  eb('p.status', 'in', ['pending', 'leased']),
                ]),
                // …or another delivery of it is out (a redelivered earlier event goes second).
                eb.and([
                  eb('p.status', '=', 'leased'),
                  eb('p.lease_until', '>', now),
                  eb('p.delivery_id', '!=', eb.fn.coalesce('d.delivery_id', eb.val(''))),
                ]),
              ]),
            ),
        ),
      ),
    )
    .orderBy('d.seq')
    .limit(args.max)
    .execute();

  const leased: LeasedDelivery[] = [];
  const leaseUntil = now + args.leaseMs;
  for (const head of heads) {
    const id = head.delivery_id ?? newId('dlv');
    const members = head.delivery_id
      ? await db
          .selectFrom('deliveries')
          .selectAll()
          .where('agent', '=', agent)
          .where('delivery_id', '=', head.delivery_id)
          .where('status', 'in', ['pending', 'leased'])
          .orderBy('seq')
          .execute()
      : [head, ...(args.coalesce ? await followers(db, head) : [])];
    if (members.length === 0) continue;
    await db
      .updateTable('deliveries')
      .set((eb) => ({
        status: 'leased',
        delivery_id: id,
        lease_until: leaseUntil,
        attempts: eb('attempts', '+', 1),
        updated_at: now,
      }))
      .where('agent', '=', agent)
      .where(
        'event_id',
        'in',
        members.map((row) => row.event_id),
      )
      .execute();
    leased.push({
      id,
      recordKey: head.record_key,
      events: members.map((row) => row.event_id),
      attempt: Math.max(...members.map((row) => row.attempts)) + 1,
      leaseUntil,
    });
  }
  if (audit.length > 0) await appendAudits(db, audit, args.dialect);
  return leased;
}

/** The pending events of the head's record after it, not yet part of any delivery. */
function followers(db: Kysely<Database>, head: Row): Promise<Row[]> {
  return db
    .selectFrom('deliveries')
    .selectAll()
    .where('agent', '=', head.agent)
    .where('record_key', '=', head.record_key)
    .where('status', '=', 'pending')
    .where('delivery_id', 'is', null)
    .where('seq', '>', head.seq)
    .orderBy('seq')
    .limit(MAX_EVENTS_PER_DELIVERY - 1)
    .execute();
}

/** Records what a delivery was handed over with: the audit log's `delivered` entries. */
export async function recordHandOver(
  db: Kysely<Database>,
  args: {
    agent: string;
    now: number;
    deliveries: readonly {
      id: string;
      events: readonly string[];
      attempt: number;
      revision: string | null;
    }[];
    dialect: Dialect;
  },
): Promise<void> {
  const audit: AuditEntry[] = [];
  for (const delivery of args.deliveries) {
    await db
      .updateTable('deliveries')
      .set({ context_revision: delivery.revision })
      .where('agent', '=', args.agent)
      .where('delivery_id', '=', delivery.id)
      .execute();
    for (const event of delivery.events) {
      audit.push({
        kind: 'event',
        subject: event,
        change: 'delivered',
        at: args.now,
        data: {
          agent: args.agent,
          delivery: delivery.id,
          attempt: delivery.attempt,
          revision: delivery.revision,
        },
      });
    }
  }
  if (audit.length > 0) await appendAudits(db, audit, args.dialect);
}

export interface Settled {
  readonly delivery: string;
  readonly status: DeliveryStatus;
  readonly events: readonly string[];
  /** When pending again: the next attempt. */
  readonly nextAttemptAt: number | null;
}

/**
 * Acknowledges a delivery (by its `dlv_` id, or the id of one of its events): its events are
 * done and the record's next event may go. Acknowledging twice answers the same; a delivery
 * dead-lettered meanwhile is acknowledged still (the agent did handle it).
 */
export async function ackDelivery(
  db: Kysely<Database>,
  args: { agent: string; id: string; now: number; dialect: Dialect },
): Promise<Settled> {
  await lockAgent(db, args.dialect, args.agent);
  const { delivery, rows } = await deliveryRows(db, args.agent, args.id);
  if (rows.every((row) => row.attempts === 0)) {
    throw new AppError(
      'not-handed-over',
      409,
      `delivery ${delivery} has not been handed over yet (it was put back in line): lease it first`,
      { details: { delivery } },
    );
  }
  const open = rows.filter(
    (row) => row.attempts > 0 && ['leased', 'pending', 'dead'].includes(row.status),
  );
  if (open.length > 0) {
    await db
      .updateTable('deliveries')
      .set({ status: 'acked', lease_until: null, updated_at: args.now })
      .where('agent', '=', args.agent)
      .where('delivery_id', '=', delivery)
      .where(
        'event_id',
        'in',
        open.map((row) => row.event_id),
      )
      .execute();
    await appendAudits(
      db,
      open.map((row) => ({
        kind: 'event' as const,
        subject: row.event_id,
        change: 'acked',
        at: args.now,
        data: { agent: args.agent, delivery },
      })),
      args.dialect,
    );
  }
  return {
    delivery,
    status: 'acked',
    events: rows.map((row) => row.event_id),
    nextAttemptAt: null,
  };
}

/**
 * Gives a delivery back: offered again after `delayMs` (default: exponential backoff with
 * jitter by its attempts), or dead-lettered when its attempts ran out, which lets the record's
 * next event go.
 */
export async function nackDelivery(
  db: Kysely<Database>,
  args: {
    agent: string;
    id: string;
    now: number;
    delayMs: number | null;
    reason: string;
    maxAttempts: number;
    /** No attempt can succeed (a forbidden address): dead-letter it now. */
    final?: boolean;
    /**
     * It was never handed over (its record's system did not answer): the lease's attempt is
     * not counted, and it cannot die of it. Tried again after `unsentDelayMs`.
     */
    unsent?: boolean;
    dialect: Dialect;
  },
): Promise<Settled> {
  await lockAgent(db, args.dialect, args.agent);
  const { delivery, rows } = await deliveryRows(db, args.agent, args.id);
  const open = rows.filter((row) => row.status === 'leased' || row.status === 'pending');
  if (open.length === 0) {
    throw new AppError(
      'delivery-settled',
      409,
      `delivery ${delivery} is ${rows[0]?.status ?? 'gone'}: nothing to give back`,
      { details: { delivery, status: rows[0]?.status ?? null } },
    );
  }
  const attempts = Math.max(...open.map((row) => row.attempts));
  const unsent = args.unsent === true;
  const dead = args.final === true || (!unsent && attempts >= args.maxAttempts);
  const waiting = args.now - Math.min(...open.map((row) => row.created_at));
  const delayMs = args.delayMs ?? (unsent ? unsentDelayMs(waiting) : backoffMs(attempts));
  const nextAttemptAt = dead ? null : args.now + Math.min(delayMs, MAX_RETRY_DELAY_MS);
  await db
    .updateTable('deliveries')
    .set((eb) => ({
      ...(unsent ? { attempts: eb('attempts', '-', 1) } : {}),
      status: dead ? 'dead' : 'pending',
      next_attempt_at: nextAttemptAt ?? args.now,
      lease_until: null,
      last_error: args.reason.slice(0, 2_000),
      updated_at: args.now,
    }))
    .where('agent', '=', args.agent)
    .where('delivery_id', '=', delivery)
    .where('status', 'in', ['leased', 'pending'])
    .where(
      'event_id',
      'in',
      open.map((row) => row.event_id),
    )
    .execute();
  if (dead) {
    await appendAudits(
      db,
      open.map((row) => deadEntry(row.event_id, args.agent, delivery, args.now, args.reason)),
      args.dialect,
    );
  }
  return {
    delivery,
    status: dead ? 'dead' : 'pending',
    events: open.map((row) => row.event_id),
    nextAttemptAt,
  };
}

/**
 * Puts an event's deliveries (or one delivery's events) back in line, for every agent or for
 * `agent`: dead-lettered, acknowledged, superseded or echo rows become pending with fresh
 * attempts, in their original place in their record's order, as a new delivery (a receiver
 * that dropped repeats by id takes it). Being handed over on purpose, they are not superseded.
 * Returns the rows requeued; throws `delivery-open` (409) when the id is still to be delivered,
 * `nothing-to-redeliver` (404) when it names nothing.
 */
export async function redeliver(
  db: Kysely<Database>,
  args: { id: string; agent: string | null; now: number; dialect: Dialect },
): Promise<{ agent: string; event: string }[]> {
  const column = args.id.startsWith('dlv_') ? 'delivery_id' : 'event_id';
  let matching = db
    .selectFrom('deliveries')
    .select(['agent', 'status'])
    .where(column, '=', args.id);
  if (args.agent !== null) matching = matching.where('agent', '=', args.agent);
  const found = await matching.execute();
  // In name order: two redeliveries over the same agents take their locks in the same order.
  for (const agent of [...new Set(found.map((row) => row.agent))].sort()) {
    await lockAgent(db, args.dialect, agent);
  }
  let query = db
    .updateTable('deliveries')
    .set({
      status: 'pending',
      delivery_id: newId('dlv'),
      attempts: 0,
      next_attempt_at: args.now,
      lease_until: null,
      last_error: null,
      updated_at: args.now,
    })
    .where(column, '=', args.id)
    .where('status', 'in', ['dead', 'acked', 'superseded', 'echo']);
  if (args.agent !== null) query = query.where('agent', '=', args.agent);
  const rows = await query.returning(['agent', 'event_id']).execute();
  if (rows.length > 0) {
    await appendAudits(
      db,
      rows.map((row) => ({
        kind: 'event' as const,
        subject: row.event_id,
        change: 'redeliver',
        at: args.now,
        data: { agent: row.agent },
      })),
      args.dialect,
    );
  }
  if (rows.length === 0) {
    const open = found.some((row) => row.status === 'pending' || row.status === 'leased');
    const to = args.agent ? ` for ${args.agent}` : '';
    throw open
      ? new AppError('delivery-open', 409, `${args.id} is still to be delivered${to}`, {
          details: { id: args.id, agent: args.agent },
        })
      : new AppError(
          'nothing-to-redeliver',
          404,
          `${args.id} has no dead-lettered, acknowledged, superseded or echo delivery${to}`,
          { details: { id: args.id, agent: args.agent } },
        );
  }
  return rows.map((row) => ({ agent: row.agent, event: row.event_id }));
}

/** Stops pushing to an agent's URL (it answered 410 Gone) until `enableEndpoint`. */
export async function disableEndpoint(
  db: Kysely<Database>,
  args: { agent: string; reason: string; now: number },
): Promise<void> {
  await db
    .insertInto('agent_endpoints')
    .values({ agent: args.agent, disabled_at: args.now, reason: args.reason })
    .onConflict((oc) =>
      oc.column('agent').doUpdateSet({ disabled_at: args.now, reason: args.reason }),
    )
    .execute();
}

/** Resumes pushing to an agent's URL; false when it was not disabled. */
export async function enableEndpoint(
  db: Kysely<Database>,
  args: { agent: string },
): Promise<boolean> {
  const deleted = await db
    .deleteFrom('agent_endpoints')
    .where('agent', '=', args.agent)
    .executeTakeFirst();
  return Number(deleted.numDeletedRows) > 0;
}

/** 1 s, 2 s, 4 s … up to 5 min, ±20 %. */
export function backoffMs(attempts: number): number {
  const base = Math.min(1_000 * 2 ** Math.max(0, attempts - 1), 300_000);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

async function deliveryRows(
  db: Kysely<Database>,
  agent: string,
  id: string,
): Promise<{ delivery: string; rows: Row[] }> {
  let delivery = id;
  if (!id.startsWith('dlv_')) {
    const row = await db
      .selectFrom('deliveries')
      .select('delivery_id')
      .where('agent', '=', agent)
      .where('event_id', '=', id)
      .executeTakeFirst();
    if (row?.delivery_id) delivery = row.delivery_id;
  }
  const rows = await db
    .selectFrom('deliveries')
    .selectAll()
    .where('agent', '=', agent)
    .where('delivery_id', '=', delivery)
    .orderBy('seq')
    .execute();
  if (rows.length === 0) {
    throw new AppError('delivery-not-found', 404, `no delivery ${id} for agent ${agent}`, {
      details: { delivery: id },
    });
  }
  return { delivery, rows };
}

/** The audit entry of an event given up on for `agent`: dead-lettered, with why when known. */
export function deadEntry(
  event: string,
  agent: string,
  delivery: string | null,
  at: number,
  reason?: string,
): AuditEntry {
  return {
    kind: 'event',
    subject: event,
    change: 'dead-lettered',
    at,
    data: { agent, delivery, ...(reason ? { reason: reason.slice(0, 500) } : {}) },
  };
}

/** Every write of event delivery, as store ops. */
export const deliveryOps = {
  fanOut,
  leaseDeliveries,
  recordHandOver,
  ackDelivery,
  nackDelivery,
  redeliver,
  disableEndpoint,
  enableEndpoint,
};

/** Where a writer thread finds `deliveryOps`. */
export const DELIVERY_OPS_MODULE = {
  module: new URL('./delivery-ops.js', import.meta.url),
  name: 'deliveryOps',
};
