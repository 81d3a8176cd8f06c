import { parseRecordRef } from '../ingest/index.js';
import type { Store } from '../store/index.js';
import { TRACE_LIMIT } from './load-actions.js';
import type { TraceQueryKind } from './trace-document.js';

/** What an id names: the events and actions a trace starts from. */
export interface TraceSubjects {
  readonly kind: TraceQueryKind;
  readonly events: string[];
  readonly actions: string[];
  /** More than `TRACE_LIMIT` matched; the newest are kept. */
  readonly truncated: boolean;
}

const RECORD_REF = /^[^:]+:[^:]+:.+$/;

/**
 * What `id` names, or null for nothing. Airlock's own ids (a primary-key lookup each) are tried
 * first, then a record reference (indexed), then a provider event id and an idempotency key,
 * which have no index of their own and are scanned for. The first kind that matches wins: a
 * Stripe event id also starts with `evt_`, and a key may look like anything.
 */
export async function findSubjects(store: Store, id: string): Promise<TraceSubjects | null> {
  const found = (kind: TraceQueryKind, events: string[], actions: string[], truncated = false) =>
    events.length + actions.length > 0 ? { kind, events, actions, truncated } : null;
  const db = store.db;

  if (id.startsWith('evt_')) {
    const row = await db.selectFrom('events').select('id').where('id', '=', id).executeTakeFirst();
    if (row) return found('event', [row.id], []);
  }
  if (id.startsWith('act_')) {
    const row = await db.selectFrom('actions').select('id').where('id', '=', id).executeTakeFirst();
    if (row) return found('action', [], [row.id]);
  }
  if (id.startsWith('apr_')) {
    const row = await db
      .selectFrom('approvals')
      .select('action_id')
      .where('id', '=', id)
      .executeTakeFirst();
    if (row) return found('approval', [], [row.action_id]);
  }
  if (RECORD_REF.test(id)) {
    const byRecord = await aboutRecord(store, id);
    if (byRecord) return byRecord;
  }
  const byProvider = await db
    .selectFrom('events')
    .select('id')
    .where('provider_event_id', '=', id)
    .orderBy('id', 'desc')
    .limit(TRACE_LIMIT)
    .execute();
  const provider = found(
    'provider-event',
    byProvider.map((row) => row.id),
    [],
  );
  if (provider) return provider;
  // Any agent's key: keys are per agent, so several actions may share one.
  const byKey = await db
    .selectFrom('actions')
    .select('id')
    .where('idempotency_key', '=', id)
    .orderBy('id', 'desc')
    .limit(TRACE_LIMIT)
    .execute();
  return found(
    'idempotency-key',
    [],
    byKey.map((row) => row.id),
  );
}

/** The newest events and actions about the record `system:type:id`; null if none. */
async function aboutRecord(store: Store, text: string): Promise<TraceSubjects | null> {
  const record = parseRecordRef(text);
  const [events, actions] = await Promise.all([
    store.db
      .selectFrom('events')
      .select('id')
      .where('record_system', '=', record.system)
      .where('record_type', '=', record.type)
      .where('record_id', '=', record.id)
      .orderBy('id', 'desc')
      .limit(TRACE_LIMIT + 1)
      .execute(),
    store.db
      .selectFrom('actions')
      .select('id')
      .where('record_key', '=', text)
      .orderBy('created_at', 'desc')
      .limit(TRACE_LIMIT + 1)
      .execute(),
  ]);
  if (events.length + actions.length === 0) return null;
  return {
    kind: 'record',
    events: events.slice(0, TRACE_LIMIT).map((row) => row.id),
    actions: actions.slice(0, TRACE_LIMIT).map((row) => row.id),
    truncated: events.length > TRACE_LIMIT || actions.length > TRACE_LIMIT,
  };
}
