import { AppError } from '../errors.js';
import type { Store } from '../store/index.js';
import { findSubjects } from './find-subjects.js';
import {
  actionsNamingEvent,
  basisEvents,
  findEchoes,
  loadActions,
  loadApprovals,
  toTraceAction,
  undoLinks,
} from './load-actions.js';
import { loadAudit } from './load-audit.js';
import { loadEvents } from './load-events.js';
import { buildTimeline } from './timeline.js';
import type { Trace, TraceEvent } from './trace-document.js';

/**
 * The whole chain behind `id`: an event id, a provider's event id, an action id, an approval
 * id, an idempotency key (any agent's) or a record reference `system:type:id`.
 * - an event: it, the actions whose basis names it or whose echo it is, and their chains;
 * - an action, approval or key: the action(s), the events their basis names, the approval and
 *   the echoes;
 * - a record: its newest 50 events and newest 50 actions, with the actions' chains.
 * Read-only. Throws `trace-not-found` (404) when the id names nothing.
 */
export async function traceOf(store: Store, id: string): Promise<Trace> {
  const subjects = await findSubjects(store, id);
  if (!subjects) {
    throw new AppError(
      'trace-not-found',
      404,
      `nothing known as "${id}": no event, provider event, action, approval, idempotency key or record with events or actions`,
      { details: { id } },
    );
  }
  const events = new Map<string, TraceEvent>();
  const add = (found: readonly TraceEvent[]) => {
    for (const event of found) events.set(event.id, event);
  };
  add(await loadEvents(store, subjects.events));

  const actionIds = new Set(subjects.actions);
  if (subjects.kind === 'event' || subjects.kind === 'provider-event') {
    for (const event of events.values()) {
      for (const actionId of await actionsNamingEvent(store, event)) actionIds.add(actionId);
      if (event.echoOf) actionIds.add(event.echoOf);
    }
  }
  for (const linked of await undoLinks(store, await loadActions(store, [...actionIds]))) {
    actionIds.add(linked);
  }
  const rows = (await loadActions(store, [...actionIds])).sort(
    (a, b) => a.created_at - b.created_at || (a.id < b.id ? -1 : 1),
  );
  const [approvals, echoes] = await Promise.all([
    loadApprovals(
      store,
      rows.map((row) => row.id),
    ),
    Promise.all(rows.map((row) => findEchoes(store, row))),
  ]);
  for (const found of echoes) add(found);
  const basis = rows
    .flatMap((row) => basisEvents(row.basis))
    .filter((eventId) => !events.has(eventId));
  add(await loadEvents(store, [...new Set(basis)]));

  const sortedEvents = [...events.values()].sort(
    (a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt) || (a.id < b.id ? -1 : 1),
  );
  // Every echo in the document, also one found as an event about the record rather than by
  // the action's own (bounded) echo search.
  const actions = rows.map((row) =>
    toTraceAction(
      row,
      approvals.get(row.id) ?? null,
      sortedEvents.filter((event) => event.echoOf === row.id).map((event) => event.id),
    ),
  );
  const audit = await loadAudit(store, [
    ...sortedEvents.map((event) => event.id),
    ...actions.flatMap((action) =>
      action.approval ? [action.id, action.approval.id] : [action.id],
    ),
  ]);
  return {
    query: { id, kind: subjects.kind },
    events: sortedEvents,
    actions,
    audit,
    timeline: buildTimeline(sortedEvents, actions, audit),
    truncated: subjects.truncated,
  };
}
