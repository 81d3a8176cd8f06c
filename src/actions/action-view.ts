import type { Selectable } from 'kysely';
import { approvalIdOf } from '../ids.js';
import type { ActionStatus, ActionTable } from '../store/index.js';

/** Every status an action can have, in the order it usually passes through them. */
export const ACTION_STATUSES = [
  'pending_approval',
  'queued',
  'executing',
  'executed',
  'failed',
  'dead',
  'stale',
  'denied',
  'rejected',
  'expired',
] as const satisfies readonly ActionStatus[];

/** An action as agents and operators see it. */
export interface ActionView {
  readonly action: string;
  readonly status: ActionStatus;
  readonly operation: string;
  readonly target: unknown;
  readonly params: unknown;
  readonly basis: unknown;
  readonly verdict: unknown;
  /** For an action that needed a human: its approval (`GET /v1/approvals/:id`). */
  readonly approval: string | null;
  readonly effect: unknown;
  readonly error: unknown;
  readonly attempts: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type ActionRow = Selectable<ActionTable>;

export function toActionView(row: ActionRow): ActionView {
  const verdict = parse(row.verdict) as { kind?: string } | null;
  return {
    action: row.id,
    status: row.status,
    operation: row.operation,
    target: parse(row.target),
    params: parse(row.params),
    basis: parse(row.basis),
    verdict,
    approval: verdict?.kind === 'needs_approval' ? approvalIdOf(row.id) : null,
    effect: parse(row.effect),
    error: parse(row.error),
    attempts: row.attempts,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function parse(text: string | null): unknown {
  return text === null ? null : JSON.parse(text);
}
