import type { RecordRef } from '../ingest/index.js';
import type {
  TimelineStep,
  TimelineStepName,
  TraceAction,
  TraceApproval,
  TraceAuditEntry,
  TraceEffect,
  TraceEvent,
} from './trace-document.js';

/**
 * Every step of the events and actions, sorted by time. Steps at the same millisecond keep the
 * order they are made in here (the sort is stable), which is the order they happen in: an
 * action's proposal, verdict and approval request are stored in one commit.
 */
export function buildTimeline(
  events: readonly TraceEvent[],
  actions: readonly TraceAction[],
  audit: readonly TraceAuditEntry[] = [],
): TimelineStep[] {
  const steps = [
    ...events.map(eventStep),
    ...actions.flatMap((action) => [...actionSteps(action), ...retrySteps(action, audit)]),
    ...audit.flatMap(deliveryStep),
  ];
  return steps
    .map((step, index) => ({ step, index, ms: Date.parse(step.at) }))
    .sort((a, b) => a.ms - b.ms || a.index - b.index)
    .map(({ step }) => step);
}

function eventStep(event: TraceEvent): TimelineStep {
  const type = event.type === null ? 'event' : shortType(event.type);
  const about = event.record ? ` on ${refText(event.record)}` : '';
  const duplicates =
    event.duplicates > 0
      ? `, ${event.duplicates} duplicate${event.duplicates === 1 ? '' : 's'}`
      : '';
  const echo = event.echoOf ? `, echo of ${event.echoOf}` : '';
  return {
    at: event.receivedAt,
    step: event.echoOf ? 'echo received' : 'webhook received',
    subject: event.id,
    summary: `${event.source} ${type}${about} (provider id ${event.providerEventId}${duplicates})${echo}`,
  };
}

const DELIVERY_STEPS: ReadonlySet<string> = new Set([
  'delivered',
  'acked',
  'dead-lettered',
  'superseded',
]);

/** An event's hand-over to an agent and what became of it, from the event's audit entries. */
function deliveryStep(entry: TraceAuditEntry): TimelineStep[] {
  if (entry.kind !== 'event' || !DELIVERY_STEPS.has(entry.change)) return [];
  const data = (entry.data ?? {}) as {
    agent?: string;
    delivery?: string;
    attempt?: number;
    revision?: string | null;
    reason?: string;
  };
  const agent = data.agent ?? 'an agent';
  const summaries: Record<string, string> = {
    delivered: `handed to ${agent} in ${data.delivery} (attempt ${data.attempt}), record at revision ${data.revision ?? 'unknown'}`,
    acked: `${agent} acknowledged ${data.delivery}`,
    'dead-lettered': `gave up handing it to ${agent}${data.reason ? `: ${data.reason}` : ''}`,
    superseded: `not handed to ${agent}: a newer event of the record was handed over first`,
  };
  return [
    step(
      entry.at,
      entry.change as TimelineStepName,
      entry.subject,
      summaries[entry.change] as string,
    ),
  ];
}

function actionSteps(action: TraceAction): TimelineStep[] {
  const { proposal, verdict, approval } = action;
  const steps: TimelineStep[] = [
    step(action.createdAt, 'proposed', action.id, proposedSummary(action)),
  ];
  if (verdict) {
    const rule = verdict.rule ? ` (rule ${verdict.rule})` : '';
    const waived = verdict.basisWaivedBy ? `; no revision needed (${verdict.basisWaivedBy})` : '';
    steps.push(
      step(
        action.createdAt,
        'policy',
        action.id,
        `${verdict.kind.replace('_', ' ')}${rule}: ${verdict.reason}${waived}`,
      ),
    );
  }
  if (approval) steps.push(...approvalSteps(approval));
  const end = endStep(action);
  if (end) steps.push(step(action.updatedAt, end, action.id, endSummary(action, end)));
  return steps;

  function proposedSummary({ agent, decision }: TraceAction): string {
    const basis = proposal.basis;
    const on = [
      basis?.revision ? `revision ${basis.revision}` : null,
      basis?.events.length ? basis.events.join(', ') : null,
    ].filter(Boolean);
    const why = decision
      ? [decision.model, decision.summary ? `"${decision.summary}"` : null]
          .filter(Boolean)
          .join(': ')
      : '';
    return (
      `${agent}: ${proposal.operation} on ${refText(proposal.target)}` +
      (on.length ? ` based on ${on.join(', ')}` : '') +
      (why ? `; ${why}` : '')
    );
  }
}

const OUTCOMES: ReadonlySet<string> = new Set(['executed', 'failed', 'dead', 'stale', 'denied']);

/**
 * An action's retries, from its audit entries: who retried it, and each outcome it had before
 * (the row holds only the last, which `actionSteps` tells).
 */
function retrySteps(action: TraceAction, audit: readonly TraceAuditEntry[]): TimelineStep[] {
  const own = audit.filter((entry) => entry.kind === 'action' && entry.subject === action.id);
  const lastRetry = own.findLastIndex((entry) => entry.change === 'retried');
  const operation = action.proposal.operation;
  return own.slice(0, lastRetry + 1).flatMap((entry) => {
    if (entry.change === 'retried') {
      const { from, by } = (entry.data ?? {}) as { from?: string; by?: string | null };
      return [
        step(
          entry.at,
          'retried',
          action.id,
          `${from ?? 'ended'}, retried by ${by ?? 'an operator'}`,
        ),
      ];
    }
    if (!OUTCOMES.has(entry.change)) return [];
    const { attempts, error } = (entry.data ?? {}) as {
      attempts?: number;
      error?: { code?: string; message?: string } | null;
    };
    const why = error ? `${error.code ?? 'error'}: ${error.message ?? ''}` : entry.change;
    const after = attempts && attempts > 1 ? ` after ${attempts} attempts` : '';
    return [
      step(entry.at, entry.change as TimelineStepName, action.id, `${operation}: ${why}${after}`),
    ];
  });
}

function approvalSteps(approval: TraceApproval): TimelineStep[] {
  const requested = step(
    approval.requestedAt,
    'approval requested',
    approval.id,
    `${approval.reason}; expires ${approval.expiresAt}`,
  );
  if (approval.status === 'pending') return [requested];
  const by = approval.decidedBy ? `by ${approval.decidedBy}` : '';
  const comment = approval.comment ? `: "${approval.comment}"` : '';
  const outcome = approval.outcome as { message?: string } | null;
  const summary =
    approval.status === 'expired'
      ? `nobody decided by ${approval.expiresAt}`
      : approval.status === 'stale'
        ? `${by}, but nothing was executed: ${outcome?.message ?? 'the record changed'}`
        : `${by}${comment}`;
  return [
    requested,
    step(approval.decidedAt ?? approval.expiresAt, approval.status, approval.id, summary),
  ];
}

/** The step the action ended at (or stands at), unless its approval's step already says it. */
function endStep(action: TraceAction): TimelineStepName | null {
  switch (action.status) {
    case 'pending_approval':
    case 'rejected':
    case 'expired':
      return null;
    case 'stale':
    case 'denied':
      // Approving found the record changed: the approval's `stale` step tells it.
      return action.approval?.status === 'stale' ? null : action.status;
    default:
      return action.status;
  }
}

function endSummary(action: TraceAction, end: TimelineStepName): string {
  const { execution } = action;
  const operation = action.proposal.operation;
  const attempts = execution.attempts > 1 ? ` after ${execution.attempts} attempts` : '';
  if (end === 'executed' && execution.effect) {
    const from = execution.expectedRevision ? `${execution.expectedRevision} → ` : '';
    return `${operation}: ${effectText(execution.effect)} (revision ${from}${execution.effect.revision})${attempts}`;
  }
  if (end === 'queued') return `${operation}: waiting to be executed${attempts}`;
  if (end === 'executing') return `${operation}: the write may have landed; to be reconciled`;
  const error = execution.error as { code?: string; message?: string } | null;
  const why = error ? `${error.code ?? 'error'}: ${error.message ?? ''}` : end;
  return `${operation}: ${why}${attempts}`;
}

/** What a write changed, in a few words: `comment added`, `status open → cancelled`. */
function effectText(effect: TraceEffect): string {
  const parts = Object.entries(effect.after).map(([field, value]) => {
    if (field === 'comment' || field === 'discount') return `${field} added`;
    if (!effect.before || !(field in effect.before)) return `${field} ${valueText(value)}`;
    const before = effect.before[field];
    return JSON.stringify(before) === JSON.stringify(value)
      ? `${field} unchanged (${valueText(value)})`
      : `${field} ${valueText(before)} → ${valueText(value)}`;
  });
  return parts.join(', ') || 'done';
}

function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `zen:event-type:ticket.comment_added` → `ticket.comment_added`; the document keeps it whole. */
function shortType(type: string): string {
  return type.slice(type.lastIndexOf(':') + 1);
}

function refText(ref: RecordRef): string {
  return `${ref.system}:${ref.type}:${ref.id}`;
}

function step(at: string, name: TimelineStepName, subject: string, summary: string): TimelineStep {
  return { at, step: name, subject, summary };
}
