import type { ActionView } from '../actions/action-view.js';
import type { OperationName, OperationParams } from '../actions/catalogue.js';
import type { DryRunView } from '../actions/propose-action.js';
import { AirlockError, type AirlockProblem, isProblem, problemCode } from './airlock-error.js';
import { answerError, type HttpAnswer } from './http-request.js';

/** A record in a connected system: `{ system: 'helpdesk', type: 'ticket', id: 'T-1042' }`. */
export interface RecordRef {
  readonly system: string;
  readonly type: string;
  readonly id: string;
}

/** A proposed write, typed by its operation: `params` are that operation's params. */
export interface ProposalInput<Op extends OperationName = OperationName> {
  readonly operation: Op;
  readonly target: RecordRef;
  readonly params: OperationParams[Op];
  /**
   * What the decision was made on: the record's revision, and the inbox events that triggered
   * it. A delivery's `basis` is this. A proposal on an older revision is refused as stale.
   */
  readonly basis?: { readonly revision?: string; readonly events?: readonly string[] };
  /** Why: kept in the trace, never interpreted. */
  readonly decision?: {
    readonly model?: string;
    readonly summary?: string;
    readonly context?: Record<string, unknown>;
  };
  /** Run every check and say what would happen, without accepting the action. */
  readonly dryRun?: boolean;
  /**
   * The `Idempotency-Key`. Default: `deriveIdempotencyKey` of the proposal (a dry run gets a
   * fresh random key, so that it is never replayed).
   */
  readonly idempotencyKey?: string;
}

/**
 * The proposal was accepted. `executed`: written; `queued`: accepted and being executed (follow
 * it with `getAction`); `pending_approval`: waits for a human (`approval`); `failed`: the system
 * refused the write or the attempts ran out (`action.error` says why; `action.status` is
 * `failed` or `dead`); `rejected`: its approval was rejected or expired (`action.status`).
 */
export interface ProposalAccepted {
  readonly outcome: 'executed' | 'queued' | 'pending_approval' | 'failed' | 'rejected';
  /** 200 once settled, 202 while it waits or runs. */
  readonly status: number;
  readonly action: ActionView;
  /** The approval's id when it waits (or waited) for a human. */
  readonly approval: string | null;
  readonly idempotencyKey: string;
  /** The gateway answered from the key's stored answer: this proposal was not run again. */
  readonly replayed: boolean;
}

/** A dry run: what would happen. */
export interface ProposalDryRun {
  readonly outcome: 'dry_run';
  readonly status: number;
  readonly dryRun: DryRunView;
  readonly idempotencyKey: string;
  readonly replayed: boolean;
}

/**
 * The members each refusal carries beside the problem's `type`, `title`, `status` and `detail`.
 * Nothing was written by a refused proposal.
 */
export interface RefusalDetails {
  /** 409: the record changed since the basis revision: what it is now, and the events since. */
  'stale-basis': {
    readonly target: RecordRef;
    readonly basisRevision: string | null;
    readonly currentRevision: string;
    readonly current: Readonly<Record<string, unknown>>;
    readonly eventsSince: ReadonlyArray<{
      readonly event: string;
      readonly type: string | null;
      readonly receivedAt: string;
    }>;
  };
  /** 403: a policy rule or a rate limit said no (`retryAfterSeconds` for a rate limit). */
  'policy-denied': {
    readonly rule: string;
    readonly reason: string;
    readonly retryAfterSeconds?: number;
  };
  /** 403: a rule asked for a human after the action was accepted: propose it again. */
  'approval-required': { readonly rule: string; readonly reason: string };
  /** 403: the agent may not propose this operation. */
  'not-permitted': {
    readonly agent: string;
    readonly operation: string;
    readonly permitted: readonly string[];
  };
  /** 409: a request with this key is still being handled: retry after `retryAfterSeconds`. */
  'idempotency-in-flight': { readonly idempotencyKey: string; readonly retryAfterSeconds: number };
  /** 422: the key was used with a different proposal (with a derived key: another decision on the same event). */
  'idempotency-key-reuse': { readonly idempotencyKey: string };
  /** 422: the write names no basis revision, and no rule allows that. */
  'basis-required': { readonly currentRevision: string };
  /** 422: `problems` lists each, as `params.<path>: <message>`. */
  'invalid-params': { readonly problems: readonly string[] };
  'unknown-operation': { readonly operation: string; readonly operations: readonly string[] };
  /** 422: the operation acts on another record type. */
  'invalid-target': {
    readonly operation: string;
    readonly expected: string;
    readonly got: string;
  };
  'unknown-system': { readonly system: string; readonly systems: readonly string[] };
  'target-not-found': { readonly target: RecordRef };
  /** 422: a basis event concerns another record than the target. */
  'target-mismatch': {
    readonly event: string;
    readonly eventRecord: RecordRef | null;
    readonly target: RecordRef;
  };
  'unknown-basis-event': { readonly events: readonly string[] };
}

/** The code of a refusal; a newer gateway may answer one this list does not have yet. */
export type RefusalCode = keyof RefusalDetails;

/**
 * The proposal was refused (403, 409 or 422): nothing was written. Switch on `code` for the
 * problem's members. `problem.action` is set when it was refused after it was accepted (the
 * record moved on, or a rule changed, before it could be executed).
 */
export type ProposalRefused = {
  readonly [C in RefusalCode]: {
    readonly outcome: 'refused';
    readonly code: C;
    readonly status: number;
    readonly problem: AirlockProblem & RefusalDetails[C] & { readonly action?: string };
    readonly idempotencyKey: string;
    readonly replayed: boolean;
  };
}[RefusalCode];

/** What a proposal came to: switch on `outcome`. */
export type ProposalResult = ProposalAccepted | ProposalDryRun | ProposalRefused;

const OUTCOMES: Readonly<Record<ActionView['status'], ProposalAccepted['outcome']>> = {
  executed: 'executed',
  queued: 'queued',
  executing: 'queued',
  pending_approval: 'pending_approval',
  failed: 'failed',
  dead: 'failed',
  rejected: 'rejected',
  expired: 'rejected',
  // Answered as refusals, never as a 2xx; here so that every status has an outcome.
  stale: 'failed',
  denied: 'failed',
};

/** Statuses at which a proposal is refused, not failed: the agent decides what to do next. */
const REFUSAL_STATUSES = new Set([403, 409, 422]);

/** `POST /v1/actions`'s answer as a result; throws an `AirlockError` on 401, 5xx and the like. */
export function toProposalResult(answer: HttpAnswer, idempotencyKey: string): ProposalResult {
  const replayed = answer.headers.get('idempotent-replayed') === 'true';
  if (answer.status >= 200 && answer.status < 300) {
    if (typeof answer.body !== 'object' || answer.body === null) {
      throw new AirlockError(`the gateway answered ${answer.status} without a JSON body`, {
        status: answer.status,
        code: 'unexpected-answer',
      });
    }
    const body = answer.body as ActionView | DryRunView;
    if ('dryRun' in body && body.dryRun === true) {
      return { outcome: 'dry_run', status: answer.status, dryRun: body, idempotencyKey, replayed };
    }
    const action = body as ActionView;
    return {
      outcome: OUTCOMES[action.status] ?? 'queued',
      status: answer.status,
      action,
      approval: action.approval,
      idempotencyKey,
      replayed,
    };
  }
  if (REFUSAL_STATUSES.has(answer.status) && isProblem(answer.body)) {
    return {
      outcome: 'refused',
      code: problemCode(answer.body) as RefusalCode,
      status: answer.status,
      problem: answer.body as ProposalRefused['problem'],
      idempotencyKey,
      replayed,
    } as ProposalRefused;
  }
  throw answerError(answer, 'POST /v1/actions');
}
