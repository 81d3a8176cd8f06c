import type { Updateable } from 'kysely';
import { checkApproved } from '../approvals/binding.js';
import type { AuditEntry } from '../audit/index.js';
import type {
  Connector,
  Effect,
  RecordRef,
  RecordSnapshot,
  WriteRequest,
} from '../connectors/connector.js';
import { crashPoint } from '../crash-point.js';
import { AppError, serializeError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { ActionOutcome, Metrics } from '../metrics/index.js';
import type { CompiledPolicies } from '../policy/index.js';
import type { ActionStatus, ActionTable, Store } from '../store/index.js';
import { inSpan, type Telemetry } from '../telemetry/index.js';
import type { ActionOps } from './action-ops.js';
import type { ActionRow } from './action-view.js';
import type { CatalogueLimits } from './catalogue.js';
import { checkActionAgain, connectorFor, needsApproval, readTarget, staleBasis } from './checks.js';
import type { CircuitBreakers } from './circuit-breaker.js';
import type { KeyAnswer } from './idempotency.js';

export interface ExecuteDeps {
  /** For reads; every write goes through `ops`. */
  readonly store: Store;
  readonly ops: ActionOps;
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly policies: CompiledPolicies;
  readonly limits: CatalogueLimits;
  readonly breakers: CircuitBreakers;
  readonly retry: { readonly maxAttempts: number; readonly maxBackoffMs: number };
  /**
   * How long after `sent_at` a write to `system` may still land: its connector's
   * `lateWriteWindow`, plus the time a read before the write may take (`sent_at` is stamped
   * before the connector's calls). Until then, finding no write is not taken as there being none.
   */
  readonly lateWriteMs: (system: string) => number;
  readonly metrics?: Metrics | undefined;
  readonly log?: Logger | undefined;
  /** Told when an action that waited for an approval has settled (to tell its agent). */
  readonly onApprovedSettled?: (actionId: string) => void;
  readonly telemetry?: Telemetry | undefined;
  readonly now: () => number;
}

/**
 * The first attempt of an action the proposing request accepted as `executing` under its own
 * lease (nothing was sent yet). `current`: the proposal's read of the record, when nothing is
 * known to have touched the record since (it stands for the read before writing); undefined to
 * read again.
 */
export interface FirstAttempt {
  readonly current: RecordSnapshot | null | undefined;
  /** The answer the action's idempotency key keeps, stored in the commit that settles it. */
  readonly answer?: (settled: ActionRow) => KeyAnswer;
}

/**
 * One attempt at a claimed action, ending in a state written to the store (the row as written
 * is returned):
 * - an attempt that may have landed before (status `executing`: a crash, a timeout) is
 *   reconciled first, and never blindly repeated;
 * - the record is read again and the action refused as `stale` when it moved on since the check
 *   at proposal time, and policy runs again on the record as it is;
 * - `executing` is committed before the connector is called, so a crash during the call leaves
 *   a row that says "reconcile me", not "run me".
 *
 * A first attempt runs in its proposal's `action.propose` span; a worker's attempt starts a
 * trace of its own, `action.execute`, with the connector calls under it.
 */
export async function executeAction(
  deps: ExecuteDeps,
  row: ActionRow,
  first?: FirstAttempt,
): Promise<ActionRow> {
  if (first) return attemptAction(deps, row, first);
  const attributes = {
    'airlock.action_id': row.id,
    'airlock.operation': row.operation,
    'airlock.record': row.record_key,
    'airlock.attempt': row.attempts + 1,
  };
  // `root`: whatever woke the worker (a traced request's notify) is not this attempt's parent.
  return inSpan(deps.telemetry, 'action.execute', { root: true, attributes }, async (span) => {
    const after = await attemptAction(deps, row);
    span.setAttribute('airlock.outcome', after.status);
    return after;
  });
}

async function attemptAction(
  deps: ExecuteDeps,
  row: ActionRow,
  first?: FirstAttempt,
): Promise<ActionRow> {
  const target = JSON.parse(row.target) as RecordRef;
  const connector = connectorFor(deps.connectors, target.system);
  const request: WriteRequest = {
    operation: row.operation,
    target,
    params: JSON.parse(row.params) as Record<string, unknown>,
    idempotencyKey: `${row.agent}:${row.idempotency_key}`,
    actionId: row.id,
    expectedRevision: row.expected_revision,
  };

  if (deps.breakers.isOpen(target.system)) {
    // A first attempt sent nothing yet: it goes back to the queue, with nothing to reconcile.
    return reschedule(
      deps,
      row,
      first ? 'queued' : row.status,
      deps.breakers.openUntil(target.system),
      'circuit open',
    );
  }

  // Failures before the connector call count as attempts too, so they end in a dead letter
  // rather than blocking the record forever. A first attempt was counted when it was accepted.
  const counted = first ? row : { ...row, attempts: row.attempts + 1 };
  // An earlier attempt may have been sent (a crash, a timeout) and its write may land at any
  // time: look for it first, and again before calling the action stale, since the change that
  // makes it look stale may be that write.
  // (`sent_at` is null for an action never sent: one that failed before its first call.)
  const sent = row.status === 'executing' && !first && row.sent_at !== null;
  const earlierWrite = async (): Promise<ActionRow | null> => {
    if (!sent) return null;
    const found = await connector.reconcile(request);
    if (found.kind === 'applied')
      return settle(deps, counted, 'executed', { effect: found.effect });
    if (found.kind === 'unknown')
      return retryLater(deps, counted, 'executing', null, found.message);
    // Not there, yet: a system can hold a request past the caller's timeout and apply it later.
    // Sent again or refused before then, the write could land twice, or land unrecorded. It is
    // looked for meanwhile too, after a second and then at half its age: a write found by the
    // record's state (an update) can be overwritten by someone else soon after it lands, and
    // then no later look would find it.
    const landsUntil = lateWriteEnd(deps, row);
    const now = deps.now();
    if (now < landsUntil) {
      const sentAt = row.sent_at ?? now;
      const message = `no write found yet; the one sent at ${new Date(sentAt).toISOString()} may land until ${new Date(landsUntil).toISOString()}`;
      const next = now + Math.max(LATE_WRITE_POLL_MS, Math.round((now - sentAt) / 2));
      // Waiting is no attempt: the count stays as it was.
      return reschedule(deps, row, 'executing', Math.min(landsUntil, next), message);
    }
    return null;
  };
  const landed = await earlierWrite();
  if (landed) return landed;
  // Kept past its last attempt only to see whether that write landed: it did not.
  if (sent && row.attempts >= deps.retry.maxAttempts) {
    return giveUp(deps, row, 'its last write did not land within the late-write window');
  }

  if (first?.current === undefined) {
    try {
      await checkActionAgain(deps, row, connector);
      if (needsApproval(row)) await checkApproved(deps.store.db, row);
    } catch (error) {
      // The system could not be read (5xx, 429, timeout): try again later, never a refusal.
      if (!(error instanceof AppError) || error.status >= 500) {
        return retryLater(deps, counted, sent ? 'executing' : 'queued', null, String(error), first);
      }
      // Refused on the record as it is now, which an earlier attempt's write, landing late,
      // may have changed (a discount counted on top of itself): that write is looked for first.
      const landedSince = await earlierWrite();
      if (landedSince) return landedSince;
      const status: ActionStatus =
        error.code === 'stale-basis'
          ? 'stale'
          : error.code === 'policy-denied' ||
              error.code === 'approval-not-held' ||
              error.code === 'approval-required'
            ? 'denied'
            : 'failed';
      // Sent before, its write may have landed and been changed since, unseen: its slots stay.
      return settle(deps, row, status, { error, mayHaveLanded: sent }, first);
    }
  }

  if (!first) {
    const at = deps.now();
    const marked = await deps.ops.run('updateLeasedAction', {
      id: row.id,
      owner: row.lease_owner,
      patch: { status: 'executing', attempts: counted.attempts, updated_at: at, sent_at: at },
      audit: audited(deps, {
        kind: 'execution',
        subject: row.id,
        change: 'started',
        at,
        data: { attempt: counted.attempts },
      }),
    });
    // Another worker took the action over (our lease ran out): it decides, we do nothing.
    if (!marked) throw new LeaseLostError(row.id);
  } else if (first.current === undefined) {
    // The first attempt read the record again, so its write leaves later than the accept that
    // stamped `sent_at`, from which a restart's reconcile would count the late-write window.
    const at = deps.now();
    const marked = await deps.ops.run('updateLeasedAction', {
      id: row.id,
      owner: row.lease_owner,
      patch: { sent_at: at, updated_at: at },
    });
    if (!marked) throw new LeaseLostError(row.id);
  }
  // When this write is sent: it may land until the connector's late-write window has passed.
  const attempted: ActionRow = { ...counted, status: 'executing', sent_at: deps.now() };
  crashPoint('action:before-connector-call');
  const outcome = await connector.execute(request);
  crashPoint('action:after-connector-call');
  deps.breakers.record(target.system, outcome.kind === 'retry' || outcome.kind === 'ambiguous');

  switch (outcome.kind) {
    case 'applied':
      return settle(deps, attempted, 'executed', { effect: outcome.effect }, first);
    case 'permanent':
      return settle(
        deps,
        attempted,
        'failed',
        {
          error: new AppError('connector-refused', 422, outcome.message, {
            details: { status: outcome.status },
          }),
        },
        first,
      );
    case 'conflict': {
      // The record moved on: perhaps by an earlier attempt's write, landing late.
      const landedSince = await earlierWrite();
      if (landedSince) return landedSince;
      const current = await readTarget(connector, target);
      const basis = row.basis ? JSON.parse(row.basis) : undefined;
      return settle(
        deps,
        attempted,
        'stale',
        { error: await staleBasis(deps.store, target, basis, current), mayHaveLanded: sent },
        first,
      );
    }
    case 'retry':
      return retryLater(deps, attempted, 'queued', outcome.retryAfterMs, outcome.message, first);
    case 'ambiguous': {
      const found = await connector.reconcile(request);
      if (found.kind === 'applied')
        return settle(deps, attempted, 'executed', { effect: found.effect }, first);
      // Still 'executing': the write may land after this look, so the next attempt looks again.
      if (found.kind === 'not_applied')
        return retryLater(deps, attempted, 'executing', null, outcome.message, first);
      return retryLater(
        deps,
        attempted,
        'executing',
        null,
        `${outcome.message}; ${found.message}`,
        first,
      );
    }
  }
}

type Outcome = {
  effect?: Effect;
  error?: unknown;
  /** An earlier attempt's write may have landed unseen: the action keeps its rate-limit slots. */
  mayHaveLanded?: boolean;
};

async function settle(
  deps: ExecuteDeps,
  row: ActionRow,
  status: ActionStatus,
  outcome: Outcome,
  first?: FirstAttempt,
): Promise<ActionRow> {
  const patch = {
    status,
    lease_owner: null,
    lease_until: null,
    updated_at: deps.now(),
    attempts: row.attempts,
    effect: outcome.effect ? JSON.stringify(outcome.effect) : row.effect,
    // An outcome without an error ends the last attempt's (`retrying`, …) too.
    error: outcome.error
      ? JSON.stringify(errorDocument(outcome.error))
      : status === 'executed'
        ? null
        : row.error,
  } satisfies Updateable<ActionTable>;
  // A dead action whose last attempt may have landed keeps its rate-limit slot: its effect may exist.
  const withoutEffect =
    !outcome.mayHaveLanded &&
    (status === 'failed' ||
      status === 'stale' ||
      status === 'denied' ||
      (status === 'dead' && row.status !== 'executing'));
  const settled: ActionRow = { ...row, ...patch };
  const updated = await deps.ops.run('updateLeasedAction', {
    id: row.id,
    owner: row.lease_owner,
    patch,
    releaseSlots: withoutEffect,
    complete: first?.answer?.(settled),
    audit: audited(deps, {
      kind: 'action',
      subject: row.id,
      change: status,
      at: patch.updated_at,
      data: {
        attempts: row.attempts,
        effect: outcome.effect ?? null,
        error: outcome.error ? errorDocument(outcome.error) : null,
      },
    }),
  });
  if (!updated) throw new LeaseLostError(row.id);
  deps.metrics?.actionOutcome(row.operation, status as ActionOutcome);
  if (needsApproval(row)) deps.onApprovedSettled?.(row.id);
  // Its fields cost a parse of the params: made only when the line is written.
  if (deps.log?.isLevelEnabled('info')) {
    deps.log.info(
      {
        ...actionLogFields(row),
        params: JSON.parse(row.params),
        status,
        attempts: row.attempts,
        error_code: (outcome.error as { code?: string } | undefined)?.code,
      },
      'action settled',
    );
  }
  if (status === 'stale') deps.metrics?.writePrevented('stale');
  return settled;
}

/** Stored errors carry what an agent needs to act: code, message and the problem's details. */
function errorDocument(error: unknown): Record<string, unknown> {
  return error instanceof AppError
    ? { code: error.code, status: error.status, message: error.message, ...error.details }
    : serializeError(error);
}

async function retryLater(
  deps: ExecuteDeps,
  row: ActionRow,
  status: 'queued' | 'executing',
  retryAfterMs: number | null,
  message: string,
  first?: FirstAttempt,
): Promise<ActionRow> {
  // Out of attempts while its write may still land: it holds its record until the window ends,
  // so that no later action of the record runs before that write, and is given up then.
  if (row.attempts >= deps.retry.maxAttempts && status === 'executing' && row.sent_at !== null) {
    const landsUntil = lateWriteEnd(deps, row);
    if (deps.now() < landsUntil) return reschedule(deps, row, status, landsUntil, message);
  }
  if (row.attempts >= deps.retry.maxAttempts) {
    // `status` is where the action stands: 'executing' means its last write may have landed.
    return giveUp(deps, { ...row, status }, message, first);
  }
  const backoff = Math.min(deps.retry.maxBackoffMs, 200 * 2 ** Math.max(0, row.attempts - 1));
  // Full jitter, so retries of many actions after one outage do not arrive together.
  const delay = Math.min(
    deps.retry.maxBackoffMs,
    Math.max(retryAfterMs ?? 0, Math.random() * backoff),
  );
  // Whole milliseconds: the column is a bigint on PostgreSQL.
  return reschedule(deps, row, status, deps.now() + Math.round(delay), message);
}

/** Dead-letters an action out of attempts, saying why the last one did not end it. */
function giveUp(
  deps: ExecuteDeps,
  row: ActionRow,
  why: string,
  first?: FirstAttempt,
): Promise<ActionRow> {
  const error = new AppError(
    'retries-exhausted',
    502,
    `gave up after ${row.attempts} attempts: ${why}`,
  );
  return settle(deps, row, 'dead', { error }, first);
}

/** The shortest wait between two looks for a write that may still land. */
const LATE_WRITE_POLL_MS = 1_000;

/** Until when the last write sent for `row` may still land. */
function lateWriteEnd(deps: ExecuteDeps, row: ActionRow): number {
  const system = row.record_key.slice(0, row.record_key.indexOf(':'));
  return (row.sent_at ?? 0) + deps.lateWriteMs(system);
}

/** Back in the queue (or still `executing`: to reconcile) at `at`, lease given up. */
async function reschedule(
  deps: ExecuteDeps,
  row: ActionRow,
  status: ActionStatus,
  at: number,
  message: string,
): Promise<ActionRow> {
  const patch = {
    status,
    next_attempt_at: at,
    lease_owner: null,
    lease_until: null,
    updated_at: deps.now(),
    attempts: row.attempts,
    error: JSON.stringify({ code: 'retrying', message }),
    // When its last write was sent: a row after a call carries that call's time.
    sent_at: row.sent_at,
  } satisfies Updateable<ActionTable>;
  deps.log?.info(
    { ...actionLogFields(row), status, attempts: row.attempts, next_attempt_at: at, message },
    'action attempt rescheduled',
  );
  await deps.ops.run('updateLeasedAction', {
    id: row.id,
    owner: row.lease_owner,
    patch,
    audit: audited(deps, {
      kind: 'execution',
      subject: row.id,
      change: 'retry-scheduled',
      at: patch.updated_at,
      data: { attempt: row.attempts, status, next: at, message },
    }),
  });
  return { ...row, ...patch };
}

/** What every log line about an action carries. */
export function actionLogFields(
  row: Pick<ActionRow, 'id' | 'operation' | 'record_key' | 'idempotency_key' | 'agent'>,
) {
  return {
    action_id: row.id,
    operation: row.operation,
    record: row.record_key,
    source_system: row.record_key.split(':')[0],
    idempotency_key: row.idempotency_key,
    agent: row.agent,
  };
}

/** An audit entry as `updateLeasedAction` takes it, in the store's dialect. */
function audited(deps: ExecuteDeps, entry: AuditEntry) {
  return { entries: [entry], dialect: deps.store.dialect };
}

/** The worker's claim on an action ran out and another worker holds it now. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(actionId: string) {
    super(`lost the lease on action ${actionId} to another worker`);
  }
}
