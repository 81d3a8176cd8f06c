import type { InboxEvent, RecordRef } from '../ingest/index.js';
import type { ActionStatus, ApprovalStatus, AuditKind } from '../store/index.js';

/** What the id given to `traceOf` turned out to be. */
export type TraceQueryKind =
  | 'event'
  | 'provider-event'
  | 'action'
  | 'approval'
  | 'idempotency-key'
  | 'record';

/**
 * The whole chain behind one id: the webhooks, what the agents proposed on them and why, the
 * verdicts, approvals and writes, and the webhooks those writes caused (their echoes).
 *
 * The step "context handed to the agent" (DESIGN.md, pitfall 5) is each `delivered` audit
 * entry of an event: which agent was handed it, in which delivery, on which revision of the
 * record. What an agent says it decided on is in each action's `decision.context` and
 * `proposal.basis`.
 */
export interface Trace {
  readonly query: { readonly id: string; readonly kind: TraceQueryKind };
  /** Every event involved, oldest first: the triggers, the events the bases name, the echoes. */
  readonly events: TraceEvent[];
  /** Every action involved, oldest first. */
  readonly actions: TraceAction[];
  /** The audit entries of those events, actions and approvals, in seq order. */
  readonly audit: TraceAuditEntry[];
  /** Each step of all of the above, by time. */
  readonly timeline: TimelineStep[];
  /**
   * For a record: it has more than `TRACE_LIMIT` events or actions, and only the newest of each
   * are here. Always false for the other kinds.
   */
  readonly truncated: boolean;
}

/** An inbox event, and which action's write it is the echo of. */
export interface TraceEvent extends InboxEvent {
  /**
   * The action whose write caused this webhook, when the payload names it (the sandbox puts
   * the action id into its webhooks); null for a webhook about someone else's change.
   */
  readonly echoOf: string | null;
}

export interface TraceAction {
  readonly id: string;
  readonly agent: string;
  readonly idempotencyKey: string;
  readonly status: ActionStatus;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** What the agent said about its decision; kept as given, never interpreted. */
  readonly decision: TraceDecision | null;
  readonly proposal: TraceProposal;
  /** The policy verdict when it was proposed, naming the rule that decided. */
  readonly verdict: TraceVerdict | null;
  /** The human approval, for an action that needed one. */
  readonly approval: TraceApproval | null;
  readonly execution: TraceExecution;
  /** Ids of the events that are the echo of this action's write. */
  readonly echoes: string[];
}

export interface TraceDecision {
  readonly model: string | null;
  readonly summary: string | null;
  /** The context the agent says it decided on. */
  readonly context: Readonly<Record<string, unknown>> | null;
}

export interface TraceProposal {
  readonly operation: string;
  readonly target: RecordRef;
  readonly params: unknown;
  /** The revision and events the agent based the decision on; null when it stated none. */
  readonly basis: { readonly revision: string | null; readonly events: string[] } | null;
}

export interface TraceVerdict {
  readonly kind: string;
  /** Null for an allow no rule objected to, and for a high-risk operation's approval. */
  readonly rule: string | null;
  readonly reason: string;
  /** The operation's risk on the record as the proposal read it (absent on older actions). */
  readonly risk?: string;
  /** The rule that let the proposal write without naming a revision. */
  readonly basisWaivedBy?: string;
}

export interface TraceApproval {
  readonly id: string;
  readonly status: ApprovalStatus;
  /** Why it needed a human. */
  readonly reason: string;
  readonly requestedAt: string;
  readonly expiresAt: string;
  readonly decidedBy: string | null;
  readonly decidedAt: string | null;
  readonly comment: string | null;
  /** For `stale`: what changed. */
  readonly outcome: unknown;
}

export interface TraceExecution {
  readonly attempts: number;
  readonly status: ActionStatus;
  /** The revision the write was made conditional on; null for creates. */
  readonly expectedRevision: string | null;
  readonly error: unknown;
  /** What the write did: before, after, the record and its revision after. */
  readonly effect: TraceEffect | null;
}

export interface TraceEffect {
  readonly before: Readonly<Record<string, unknown>> | null;
  readonly after: Readonly<Record<string, unknown>>;
  readonly ref: RecordRef;
  readonly revision: string;
}

export interface TraceAuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly kind: AuditKind;
  readonly subject: string;
  readonly change: string;
  readonly data: unknown;
}

export type TimelineStepName =
  | 'webhook received'
  | 'echo received'
  | 'proposed'
  | 'policy'
  | 'approval requested'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'stale'
  | 'queued'
  | 'executing'
  | 'executed'
  | 'failed'
  | 'denied'
  | 'dead'
  /** An operator queued a failed or dead action again (`airlock actions retry`). */
  | 'retried'
  /** An event's hand-over to an agent, and what became of it (src/dispatch/README.md). */
  | 'delivered'
  | 'acked'
  | 'dead-lettered'
  | 'superseded';

export interface TimelineStep {
  /** ISO 8601. */
  readonly at: string;
  readonly step: TimelineStepName;
  /** The event, action or approval id the step happened to. */
  readonly subject: string;
  /** One line for a human. */
  readonly summary: string;
}
