import {
  type Connector,
  ConnectorCallError,
  type RecordRef,
  type RecordSnapshot,
} from '../connectors/connector.js';
import { AppError } from '../errors.js';
import { eventPayload, isoTime } from '../ingest/events.js';
import type { OpRunner } from '../store/op-runner.js';
import type { EventTable } from '../store/schema.js';
import type { Store } from '../store/store.js';
import type { deliveryOps, LeasedDelivery } from './delivery-ops.js';
import type { DeliveredEvent, Delivery, SkippedEvent } from './wire.js';

export type DeliveryOps = OpRunner<typeof deliveryOps>;

export interface HandOverDeps {
  readonly store: Store;
  readonly ops: DeliveryOps;
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly now: () => number;
}

/** Deliveries ready to hand over, and those that could not be put together (to give back). */
export interface Prepared {
  readonly ready: Delivery[];
  /**
   * `unsent`: only because the record's system did not answer (down, timed out): not the
   * delivery's fault, so it is not counted as an attempt. Any other failure counts.
   */
  readonly failed: { readonly id: string; readonly reason: string; readonly unsent: boolean }[];
}

/**
 * Puts leased deliveries together: their events with payloads, and the context, which is the
 * record read through its connector now, its revision, and the record's events since the last
 * delivery that were not handed over (echoes, superseded). A delivery whose record cannot be
 * read is not handed over without its context: it is given back to be tried again (`unsent`
 * when its system did not answer). Each is put
 * together on its own, so one that fails never holds back the others of the lease. What each
 * was handed over with goes to the audit log.
 */
export async function prepareDeliveries(
  deps: HandOverDeps,
  agent: string,
  leased: readonly LeasedDelivery[],
  pull: boolean,
): Promise<Prepared> {
  if (leased.length === 0) return { ready: [], failed: [] };
  const rows = await loadEventRows(
    deps.store,
    leased.flatMap((delivery) => delivery.events),
  );
  const results = await Promise.all(
    leased.map(async (delivery) => {
      try {
        return { delivery: await assemble(deps, agent, delivery, rows, pull) };
      } catch (error) {
        const unsent = error instanceof SystemDown;
        return { failed: { id: delivery.id, reason: messageOf(error), unsent } };
      }
    }),
  );
  const ready = results.flatMap((result) => (result.delivery ? [result.delivery] : []));
  if (ready.length > 0) {
    await deps.ops.run('recordHandOver', {
      agent,
      now: deps.now(),
      deliveries: ready.map((delivery) => ({
        id: delivery.id,
        events: delivery.events.map((event) => event.id),
        attempt: delivery.attempt,
        revision: delivery.context.revision,
      })),
      dialect: deps.store.dialect,
    });
  }
  return { ready, failed: results.flatMap((result) => (result.failed ? [result.failed] : [])) };
}

async function assemble(
  deps: HandOverDeps,
  agent: string,
  leased: LeasedDelivery,
  rows: ReadonlyMap<string, EventRow>,
  pull: boolean,
): Promise<Delivery> {
  const delivered = leased.events.flatMap((id) => {
    const row = rows.get(id);
    return row ? [deliveredEvent(row)] : [];
  });
  // One delivery's events are about one record (or, alone, about none).
  const first = leased.events.map((id) => rows.get(id)).find((row) => row !== undefined);
  const record = first ? recordOf(first) : null;
  const connector = record ? deps.connectors.get(record.system) : undefined;
  const { snapshot, refused } = await readRecord(connector, record);
  const note = !record
    ? 'the event is about no record'
    : !connector
      ? `no connector is configured for system ${record.system}`
      : refused
        ? `the record cannot be read: ${refused}`
        : !snapshot
          ? 'the record does not exist'
          : undefined;
  return {
    type: 'airlock.delivery',
    id: leased.id,
    agent,
    record,
    events: delivered,
    context: {
      record: snapshot ? { ...snapshot.data } : null,
      revision: snapshot?.revision ?? null,
      readAt: new Date(deps.now()).toISOString(),
      skipped: await skippedSince(deps.store, agent, leased),
      ...(note ? { note } : {}),
    },
    basis: {
      ...(snapshot ? { revision: snapshot.revision } : {}),
      events: delivered.map((event) => event.id),
    },
    attempt: leased.attempt,
    leaseUntil: pull ? new Date(leased.leaseUntil).toISOString() : null,
  };
}

function recordOf(row: EventRow): RecordRef | null {
  const { record_system: system, record_type: type, record_id: id } = row;
  return system && type && id ? { system, type, id } : null;
}

/** The read of a record failed because its system did not answer (down, timed out). */
class SystemDown extends Error {}

/**
 * The record as its connector reads it now. A read the connector refuses as no fault of the
 * system's (a 4xx: a type its name does not serve, an id it cannot take) is `refused`, and the
 * events are handed over without the record, saying why, as for one that does not exist: no
 * later read would answer otherwise. Any other failure throws, `SystemDown` when the system did
 * not answer.
 */
async function readRecord(
  connector: Connector | undefined,
  record: RecordRef | null,
): Promise<{ snapshot: RecordSnapshot | null; refused?: string }> {
  if (!record || !connector) return { snapshot: null };
  try {
    return { snapshot: await connector.read(record) };
  } catch (error) {
    if (error instanceof AppError && error.status < 500) {
      return { snapshot: null, refused: error.message };
    }
    const message = `the record could not be read: ${messageOf(error)}`;
    if (error instanceof ConnectorCallError && error.code === 'connector-unavailable') {
      throw new SystemDown(message, { cause: error });
    }
    throw new Error(message, { cause: error });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What a delivered event is put together from: its row, and the body of its request. */
type EventRow = Pick<
  EventTable,
  | 'id'
  | 'source'
  | 'type'
  | 'occurred_at'
  | 'received_at'
  | 'item_index'
  | 'record_system'
  | 'record_type'
  | 'record_id'
> & { readonly body: Buffer };

/** The rows of the delivered events, by event id. */
async function loadEventRows(store: Store, ids: readonly string[]): Promise<Map<string, EventRow>> {
  const rows = await store.db
    .selectFrom('events')
    .innerJoin('webhook_requests', 'webhook_requests.id', 'events.request_id')
    .select([
      'events.id',
      'events.source',
      'events.type',
      'events.occurred_at',
      'events.received_at',
      'events.item_index',
      'events.record_system',
      'events.record_type',
      'events.record_id',
      'webhook_requests.body',
    ])
    .where('events.id', 'in', ids)
    .execute();
  return new Map(rows.map((row) => [row.id, row]));
}

function deliveredEvent(row: EventRow): DeliveredEvent {
  return {
    id: row.id,
    source: row.source,
    type: row.type,
    occurredAt: isoTime(row.occurred_at),
    receivedAt: new Date(row.received_at).toISOString(),
    payload: eventPayload(row.body, row.item_index),
  };
}

/**
 * The record's echo and superseded events after the last delivery the agent settled and
 * before this delivery's last event: what happened to the record that the agent is not
 * handed as news.
 */
async function skippedSince(
  store: Store,
  agent: string,
  leased: LeasedDelivery,
): Promise<SkippedEvent[]> {
  const own = await store.db
    .selectFrom('deliveries')
    .select((eb) => [eb.fn.min('seq').as('first'), eb.fn.max('seq').as('last')])
    .where('agent', '=', agent)
    .where('delivery_id', '=', leased.id)
    .executeTakeFirst();
  if (!own?.first) return [];
  const previous = await store.db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('agent', '=', agent)
    .where('record_key', '=', leased.recordKey)
    .where('status', 'in', ['acked', 'dead'])
    .where('seq', '<', own.first)
    .executeTakeFirst();
  const rows = await store.db
    .selectFrom('deliveries')
    .innerJoin('events', 'events.id', 'deliveries.event_id')
    .select(['deliveries.event_id', 'deliveries.status', 'deliveries.echo_of', 'events.type'])
    .where('deliveries.agent', '=', agent)
    .where('deliveries.record_key', '=', leased.recordKey)
    .where('deliveries.status', 'in', ['echo', 'superseded'])
    .where('deliveries.seq', '>', Number(previous?.seq ?? 0))
    .where('deliveries.seq', '<', Number(own.last))
    .orderBy('deliveries.seq')
    .limit(100)
    .execute();
  return rows.map((row) => ({
    id: row.event_id,
    type: row.type,
    status: row.status === 'echo' ? 'echo' : 'superseded',
    echoOf: row.echo_of,
  }));
}
