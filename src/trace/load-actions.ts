import type { Selectable } from 'kysely';
import type { ActionRow } from '../actions/index.js';
import { UNDO_AGENT } from '../actions/undo-action.js';
import { firstIdAt } from '../ids.js';
import type { RecordRef } from '../ingest/index.js';
import type { ApprovalTable, Store } from '../store/index.js';
import { eventsAboutSince } from './load-events.js';
import type {
  TraceAction,
  TraceApproval,
  TraceDecision,
  TraceEffect,
  TraceEvent,
  TraceVerdict,
} from './trace-document.js';

/** At most this many of each kind of row per lookup: a trace is read by a person. */
export const TRACE_LIMIT = 50;

/**
 * Ids are made from each instance's own clock. Looking for rows made after another row, start
 * this much earlier, so clocks a little apart between gateway instances lose nothing.
 */
const CLOCK_SKEW_MS = 60_000;

/** Events read per record when looking for an action's echoes (one per changed field). */
const ECHO_SCAN_LIMIT = 200;

type ApprovalRow = Selectable<ApprovalTable>;

export async function loadActions(store: Store, ids: readonly string[]): Promise<ActionRow[]> {
  if (ids.length === 0) return [];
  return store.db
    .selectFrom('actions')
    .selectAll()
    .where('id', 'in', [...ids])
    .execute();
}

/**
 * Ids of the actions whose `basis.events` name the event. The basis is JSON text with no index:
 * only actions made after the event was received can name it, so the scan starts there (a range
 * on the time-ordered id) and `like` narrows it before the basis is parsed to be sure.
 */
export async function actionsNamingEvent(
  store: Store,
  event: { readonly id: string; readonly receivedAt: string },
): Promise<string[]> {
  const since = firstIdAt('act', Date.parse(event.receivedAt) - CLOCK_SKEW_MS);
  const rows = await store.db
    .selectFrom('actions')
    .select(['id', 'basis'])
    .where('id', '>=', since)
    // Event ids are letters, digits and `_`; `_` matching any character only widens the match.
    .where('basis', 'like', `%${event.id}%`)
    .orderBy('id')
    .limit(TRACE_LIMIT)
    .execute();
  return rows.filter((row) => basisEvents(row.basis).includes(event.id)).map((row) => row.id);
}

/** The approvals of these actions, by action id. */
export async function loadApprovals(
  store: Store,
  actionIds: readonly string[],
): Promise<Map<string, ApprovalRow>> {
  if (actionIds.length === 0) return new Map();
  const rows = await store.db
    .selectFrom('approvals')
    .selectAll()
    .where('action_id', 'in', [...actionIds])
    .execute();
  return new Map(rows.map((row) => [row.action_id, row]));
}

/**
 * The events that are the echo of the action's write: events about its target (or the record
 * its write landed on) received since it was proposed, whose payload names it.
 */
export async function findEchoes(store: Store, row: ActionRow): Promise<TraceEvent[]> {
  // Never sent to the system: nothing can echo.
  if (['pending_approval', 'rejected', 'expired', 'denied'].includes(row.status)) return [];
  const records = new Map<string, RecordRef>();
  for (const ref of [parse<RecordRef>(row.target), parse<TraceEffect>(row.effect)?.ref]) {
    if (ref) records.set(`${ref.system}:${ref.type}:${ref.id}`, ref);
  }
  const since = firstIdAt('evt', row.created_at - CLOCK_SKEW_MS);
  const found = await Promise.all(
    [...records.values()].map((ref) => eventsAboutSince(store, ref, since, ECHO_SCAN_LIMIT)),
  );
  return found.flat().filter((event) => event.echoOf === row.id);
}

/** The event ids an action's basis names. */
export function basisEvents(basis: string | null): string[] {
  return parse<{ events?: string[] }>(basis)?.events ?? [];
}

export function toTraceAction(
  row: ActionRow,
  approval: ApprovalRow | null,
  echoes: readonly string[],
): TraceAction {
  const basis = parse<{ revision?: string; events?: string[] }>(row.basis);
  const decision = parse<Partial<TraceDecision>>(row.decision);
  return {
    id: row.id,
    agent: row.agent,
    idempotencyKey: row.idempotency_key,
    status: row.status,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    decision: decision && {
      model: decision.model ?? null,
      summary: decision.summary ?? null,
      context: decision.context ?? null,
    },
    proposal: {
      operation: row.operation,
      target: parse<RecordRef>(row.target) as RecordRef,
      params: parse(row.params),
      basis: basis && { revision: basis.revision ?? null, events: basis.events ?? [] },
    },
    verdict: parse<TraceVerdict>(row.verdict),
    approval: approval && toTraceApproval(approval),
    execution: {
      attempts: row.attempts,
      status: row.status,
      expectedRevision: row.expected_revision,
      error: parse(row.error),
      effect: parse<TraceEffect>(row.effect),
    },
    echoes: [...echoes],
  };
}

function toTraceApproval(row: ApprovalRow): TraceApproval {
  return {
    id: row.id,
    status: row.status,
    reason: row.reason,
    requestedAt: new Date(row.created_at).toISOString(),
    expiresAt: new Date(row.expires_at).toISOString(),
    decidedBy: row.decided_by,
    decidedAt: row.decided_at === null ? null : new Date(row.decided_at).toISOString(),
    comment: row.comment,
    outcome: parse(row.outcome),
  };
}

/** A JSON column as stored by the actions module; its shapes are that module's documents. */
function parse<T = unknown>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/**
 * Undo links, both ways: the actions these undo and the undos of these. Only the undo agent's
 * decisions are read as links (`decision.context.undoOf`): an agent's decision is its own text,
 * kept for the trace, and naming an action there links nothing.
 */
export async function undoLinks(store: Store, rows: readonly ActionRow[]): Promise<string[]> {
  const linked = new Set<string>();
  for (const row of rows) {
    if (row.agent === UNDO_AGENT && row.decision) {
      const decision = JSON.parse(row.decision) as { context?: { undoOf?: unknown } };
      const undoOf = decision.context?.undoOf;
      if (typeof undoOf === 'string') linked.add(undoOf);
    }
    const undos = await store.db
      .selectFrom('actions')
      .select('id')
      .where('agent', '=', UNDO_AGENT)
      .where('decision', 'like', `%"undoOf":"${row.id}"%`)
      .execute();
    for (const undo of undos) linked.add(undo.id);
  }
  return [...linked];
}
