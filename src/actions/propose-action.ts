import { SpanKind } from '@opentelemetry/api';
import type { Agent } from '../agents/index.js';
import { canonicalDigest } from '../canonical-json.js';
import { type Connector, type RecordSnapshot, recordKey } from '../connectors/connector.js';
import { AppError, describeIssues } from '../errors.js';
import { approvalIdOf, newId } from '../ids.js';
import type { Logger } from '../logging.js';
import type { Metrics, PreventedWrite } from '../metrics/index.js';
import { basisWaiver, type CompiledPolicies } from '../policy/index.js';
import type { Store } from '../store/index.js';
import { inSpan, type Telemetry, type TraceCarrier } from '../telemetry/index.js';
import type { ActionOps } from './action-ops.js';
import { type ActionRow, type ActionView, toActionView } from './action-view.js';
import type { ActionWorker } from './action-worker.js';
import { type CatalogueLimits, catalogue } from './catalogue.js';
import {
  assessRisk,
  checkTargetBinding,
  connectorFor,
  decide,
  policyInput,
  readTarget,
  resolveOperation,
  staleBasis,
} from './checks.js';
import {
  actionOfKey,
  type KeyClaim,
  type KeyClaimArgs,
  type KeyRef,
  keyNamedAction,
  peekKey,
} from './idempotency.js';
import { type Acceptance, acceptedRow } from './outbox.js';
import { type Proposal, type ProposalTarget, proposalSchema } from './proposal.js';
import { proposalAttributes, recordAnswer } from './proposal-span.js';
import { fullRateLimit, type RateLimitRule } from './rate-limits.js';

export interface ProposeDeps {
  /** For reads; every write goes through `ops`. */
  readonly store: Store;
  readonly ops: ActionOps;
  readonly connectors: ReadonlyMap<string, Connector>;
  readonly policies: CompiledPolicies;
  readonly limits: CatalogueLimits;
  readonly rateLimits: readonly RateLimitRule[];
  readonly worker: Pick<
    ActionWorker,
    'notify' | 'waitForSettled' | 'lease' | 'runLeased' | 'track'
  >;
  /** How long to wait for the outcome before answering 202 queued. */
  readonly waitMs: number;
  /** How long an idempotency key stays claimed by a request that went silent. */
  readonly keyLockMs: number;
  /** How long a new approval waits for a decision. */
  readonly approvalTtlMs: number;
  /** Told of each new approval once it is committed (to announce it). */
  readonly onApprovalRequested?: (approvalId: string) => void;
  readonly metrics?: Metrics | undefined;
  readonly log?: Logger | undefined;
  readonly telemetry?: Telemetry | undefined;
  readonly now: () => number;
}

/** The answer to a proposal: a status code and an action, or an error; either may be a replay. */
export type ProposalAnswer =
  | {
      readonly kind: 'ok';
      readonly status: number;
      readonly body: ActionView | DryRunView;
      /**
       * `body` as JSON text, when it was made: the reply sends it as it is, and the key keeps it
       * (`toStored`), so an action's answer is serialized once.
       */
      readonly json?: string;
      readonly replayed: boolean;
    }
  | { readonly kind: 'error'; readonly error: AppError; readonly replayed: boolean };

export interface DryRunView {
  readonly dryRun: true;
  /** What would happen: `execute` or `pending_approval`. */
  readonly outcome: 'execute' | 'pending_approval';
  readonly verdict: unknown;
  readonly risk: string;
  readonly currentRevision: string | null;
}

type StoredAnswer =
  | { ok: true; status: number; body: ActionView | DryRunView }
  | {
      ok: false;
      error: { code: string; status: number; message: string; details: Record<string, unknown> };
    };

/**
 * `POST /v1/actions`: authenticate (the edge did), idempotency, validate params and target, read
 * the record as it is now, check the basis, run policy, then accept the action and its outbox row
 * in one commit and wait up to `waitMs` for the worker to execute it. Traced as `action.propose`,
 * continuing a W3C `traceparent` in `trace` (the request's headers); the proposal's reads and a
 * first attempt executed here are its children.
 */
export async function proposeAction(
  deps: ProposeDeps,
  agent: Agent,
  idempotencyKey: string | undefined,
  body: unknown,
  trace?: TraceCarrier,
): Promise<ProposalAnswer> {
  return inSpan(
    deps.telemetry,
    'action.propose',
    { kind: SpanKind.SERVER, remote: trace },
    async (span) => {
      if (span.isRecording())
        span.setAttributes(proposalAttributes(agent.name, idempotencyKey, body));
      const started = performance.now();
      const answer = await answerProposal(deps, agent, idempotencyKey, body);
      if (deps.metrics) countProposal(deps.metrics, body, answer, performance.now() - started);
      if (answer.kind === 'error' && deps.log)
        logRefusal(deps.log, agent, idempotencyKey, body, answer.error);
      if (span.isRecording()) recordAnswer(span, answer);
      return answer;
    },
  );
}

/** Which writes were prevented, and how: the error codes of refusals, by class. */
const PREVENTED: Readonly<Record<string, PreventedWrite>> = {
  'idempotency-in-flight': 'duplicate',
  'stale-basis': 'stale',
  'target-mismatch': 'wrong_record',
  'unknown-basis-event': 'wrong_record',
  'not-permitted': 'not_permitted',
  'policy-denied': 'not_permitted',
};

/**
 * A proposal in the metrics: its time in the pipeline, and what it prevented (a replayed key is
 * a duplicate not executed again). Outcomes of accepted actions are counted where they settle.
 */
function countProposal(metrics: Metrics, body: unknown, answer: ProposalAnswer, ms: number): void {
  const name = (body as { operation?: unknown } | null)?.operation;
  // Only catalogue names become label values: an agent's typo must not add a series.
  const operation = typeof name === 'string' && catalogue.has(name) ? name : null;
  if (operation) metrics.observePipeline(operation, ms / 1000);
  if (answer.replayed) {
    metrics.writePrevented('duplicate');
    return;
  }
  if (answer.kind === 'error') {
    // Refused after it was accepted (stale at execution): counted where it settled.
    if (answer.error.details.action !== undefined) return;
    const prevented = PREVENTED[answer.error.code];
    if (prevented) metrics.writePrevented(prevented);
    if (!operation) return;
    if (answer.error.code === 'stale-basis') metrics.actionOutcome(operation, 'stale');
    if (answer.error.code === 'policy-denied') metrics.actionOutcome(operation, 'denied');
    return;
  }
  const status = (answer.body as { status?: string }).status;
  if (operation && status === 'pending_approval') {
    metrics.actionOutcome(operation, 'pending_approval');
  }
}

/**
 * A proposal refused before anything was accepted (stale, denied, invalid), as a log line with
 * what identifies it. Accepted actions are logged where they settle.
 */
function logRefusal(
  log: Logger,
  agent: Agent,
  idempotencyKey: string | undefined,
  body: unknown,
  error: AppError,
): void {
  if (error.details.action !== undefined) return;
  const proposal = body as { operation?: unknown; target?: Partial<ProposalTarget> } | null;
  const target = proposal?.target;
  log.info(
    {
      operation: typeof proposal?.operation === 'string' ? proposal.operation : undefined,
      record: target ? `${target.system}:${target.type}:${target.id}` : undefined,
      source_system: target?.system,
      idempotency_key: idempotencyKey,
      agent: agent.name,
      code: error.code,
      status: error.status,
    },
    'proposal refused',
  );
}

async function answerProposal(
  deps: ProposeDeps,
  agent: Agent,
  idempotencyKey: string | undefined,
  body: unknown,
): Promise<ProposalAnswer> {
  if (!idempotencyKey) {
    return {
      kind: 'error',
      error: new AppError('idempotency-key-missing', 400, 'the Idempotency-Key header is required'),
      replayed: false,
    };
  }
  if (idempotencyKey.length > 255) {
    return {
      kind: 'error',
      error: new AppError('invalid-request', 400, 'Idempotency-Key is longer than 255 characters'),
      replayed: false,
    };
  }
  const parsed = proposalSchema.safeParse(body);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error.issues, 'body');
    return {
      kind: 'error',
      error: new AppError('invalid-request', 400, problems.join('; '), { details: { problems } }),
      replayed: false,
    };
  }
  const proposal = parsed.data;
  const key: KeyClaimArgs = {
    ref: { agent: agent.name, key: idempotencyKey },
    fingerprint: canonicalDigest(proposal),
    now: deps.now(),
    lockMs: deps.keyLockMs,
  };
  // The read does not depend on what the key holds: both are under way at once. When the key
  // is taken, the read was harmless and is dropped.
  const started = start(deps, agent, proposal);
  // Nothing is written before the work: the key is taken in the commit that accepts the action
  // or stores the refusal, and a concurrent request with the key loses there if not here.
  const found = await peekKey(deps.store.db, key);
  if (found) return answerFromKey(deps, key.ref, found);

  let answer: Evaluated;
  try {
    answer = await evaluate(deps, agent, key, proposal, started);
  } catch (error) {
    // Ours, not the client's: nothing was stored, so the client's retry runs again.
    if (!(error instanceof AppError) || error.status >= 500) throw error;
    answer = { kind: 'error', error, replayed: false };
  }
  const { key: held, ...reply } = answer;
  // A dry run has no effect to deduplicate: it takes no key, and each is checked afresh.
  if (held === 'settled' || proposal.dryRun) return reply;
  if (held === 'held') {
    await keepAnswer(deps, key.ref, reply);
    return reply;
  }
  // Nothing was accepted. A refusal that asks the agent to decide again on the record as it is
  // now takes no key either: the new decision may come under the same key (one derived from the
  // event), and must not be refused as the key's reuse; the same request again is checked again,
  // and refused again. But a key another request took meanwhile (whose write may be what moved
  // the record on), or one that named a kept action, answers as it would have.
  if (decideAgain(reply)) return (await keyAnswerNow(deps, key)) ?? reply;
  const claim = await deps.ops.run('answerKey', { ...key, ...toStored(reply) });
  return claim.kind === 'claimed' ? reply : answerFromKey(deps, key.ref, claim);
}

/** What `key` answers now, if it is taken or named a kept action; null when it is free. */
async function keyAnswerNow(deps: ProposeDeps, key: KeyClaimArgs): Promise<ProposalAnswer | null> {
  const found = await peekKey(deps.store.db, key);
  if (found) return answerFromKey(deps, key.ref, found);
  const earlier = await actionOfKey(deps.store.db, key.ref);
  return earlier
    ? { kind: 'error', error: keyNamedAction(key.ref, earlier), replayed: false }
    : null;
}

/** A refusal of the basis (stale, or none given) before anything was accepted. */
const decideAgain = (answer: ProposalAnswer) =>
  answer.kind === 'error' &&
  (answer.error.code === 'stale-basis' || answer.error.code === 'basis-required');

/** The answer for a key another request holds or held. */
export async function answerFromKey(
  deps: ProposeDeps,
  ref: KeyRef,
  claim: Exclude<KeyClaim, { kind: 'claimed' }>,
): Promise<ProposalAnswer> {
  switch (claim.kind) {
    case 'mismatch':
      return {
        kind: 'error',
        error: new AppError(
          'idempotency-key-reuse',
          422,
          'this Idempotency-Key was used with a different request',
          { details: { idempotencyKey: ref.key } },
        ),
        replayed: false,
      };
    case 'in_flight':
      return {
        kind: 'error',
        error: new AppError(
          'idempotency-in-flight',
          409,
          'a request with this Idempotency-Key is still being handled; retry later',
          { details: { idempotencyKey: ref.key, retryAfterSeconds: 1 } },
        ),
        replayed: false,
      };
    case 'replay':
      return fromStored(claim.body as StoredAnswer, true);
    case 'resume': {
      // The first request died after accepting its action, or answered while it was still under
      // way: answer from that action, and keep the answer once it is an outcome.
      const answer = await answerFromAction(deps, claim.actionId);
      await keepAnswer(deps, ref, answer);
      return { ...answer, replayed: true };
    }
  }
}

/** The checks that need no store: the operation and params resolved, the connector found. */
interface Started {
  readonly operation: ReturnType<typeof resolveOperation>;
  /** For an update: the read of the record, under way, and when it began. */
  readonly read: { readonly at: number; readonly snapshot: Promise<RecordSnapshot> } | null;
}

/**
 * Resolves the proposal and starts reading its target. An invalid proposal's error is kept, to
 * be answered (and stored under the key) once the key is claimed.
 */
function start(deps: ProposeDeps, agent: Agent, proposal: Proposal): Started | { error: unknown } {
  try {
    const { target } = proposal;
    const operation = resolveOperation(agent, proposal.operation, target, proposal.params);
    const connector = connectorFor(deps.connectors, target.system);
    connector.checkTarget?.(target);
    if (operation.spec.kind !== 'update') return { operation, read: null };
    const at = deps.now();
    const snapshot = readTarget(connector, target);
    // Handled where it is awaited; unawaited when the claim finds the key taken.
    snapshot.catch(() => {});
    return { operation, read: { at, snapshot } };
  } catch (error) {
    return { error };
  }
}

/**
 * An answer, and where its key stands: `held` by the action this request accepted (its answer
 * still to be stored), or `settled` (the answer stored with the action's outcome, or the key
 * another request's); neither when nothing was written.
 */
type Evaluated = ProposalAnswer & { readonly key?: 'held' | 'settled' };

async function evaluate(
  deps: ProposeDeps,
  agent: Agent,
  key: KeyClaimArgs,
  proposal: Proposal,
  started: Started | { error: unknown },
): Promise<Evaluated> {
  if ('error' in started) throw started.error;
  const { read } = started;
  const { target } = proposal;
  await checkTargetBinding(deps.store, deps.connectors, target, proposal.basis?.events ?? []);

  const readAt = read?.at ?? deps.now();
  const current = read ? await read.snapshot : null;
  const operation = assessRisk(started.operation, deps.limits, current);
  const decidedAt = deps.now();
  // A write to an existing record names the revision it was decided on, unless a policy rule
  // with `allowWithoutBasis` applies to it.
  let basisWaivedBy: string | null = null;
  if (current) {
    const revision = proposal.basis?.revision;
    if (revision === undefined) {
      const input = policyInput(agent, operation, target, current, decidedAt);
      basisWaivedBy = basisWaiver(deps.policies, input);
      if (basisWaivedBy === null) {
        throw new AppError(
          'basis-required',
          422,
          `state the revision the decision was made on (basis.revision); it is ${current.revision}`,
          { details: { currentRevision: current.revision } },
        );
      }
    } else if (revision !== current.revision) {
      throw await staleBasis(deps.store, target, proposal.basis, current);
    }
  }
  const verdict = decide(deps.policies, agent, operation, target, current, decidedAt);
  const needsApproval = operation.risk === 'high' || verdict.kind === 'needs_approval';
  const verdictDocument = {
    ...(needsApproval && verdict.kind === 'allow'
      ? {
          kind: 'needs_approval',
          rule: null,
          reason: `${operation.spec.name} is a high-risk operation`,
        }
      : verdict),
    risk: operation.risk,
    ...(basisWaivedBy ? { basisWaivedBy } : {}),
  };

  if (proposal.dryRun) {
    // What the accept would refuse, read without taking a slot.
    const limited = await fullRateLimit(
      deps.store.db,
      deps.rateLimits,
      { operation: operation.spec.name, agent: agent.name, recordKey: recordKey(target) },
      decidedAt,
    );
    if (limited) throw limited;
    const view: DryRunView = {
      dryRun: true,
      outcome: needsApproval ? 'pending_approval' : 'execute',
      verdict: verdictDocument,
      risk: operation.risk,
      currentRevision: current?.revision ?? null,
    };
    return { kind: 'ok', status: 200, body: view, replayed: false };
  }

  const now = deps.now();
  const { ref } = key;
  const acceptance: Acceptance = {
    ref,
    fingerprint: key.fingerprint,
    lockMs: key.lockMs,
    action: {
      id: newId('act'),
      agent: agent.name,
      idempotency_key: ref.key,
      operation: operation.spec.name,
      record_key: recordKey(target),
      target: JSON.stringify(target),
      params: JSON.stringify(operation.params),
      basis: proposal.basis ? JSON.stringify(proposal.basis) : null,
      decision: proposal.decision ? JSON.stringify(proposal.decision) : null,
      status: needsApproval ? 'pending_approval' : 'queued',
      verdict: JSON.stringify(verdictDocument),
      expected_revision: current?.revision ?? null,
      effect: null,
      error: null,
      attempts: 0,
      next_attempt_at: now,
      lease_owner: null,
      lease_until: null,
      created_at: now,
      updated_at: now,
      sent_at: null,
    },
    target,
    rateLimits: deps.rateLimits,
    // Nothing ahead of it on the record: this request executes it now, without a worker's turn.
    lease: needsApproval ? null : { ...deps.worker.lease(now), readAt },
    approval: needsApproval
      ? {
          paramsDigest: canonicalDigest(operation.params),
          policyVersion: deps.policies.version,
          reason: verdictDocument.reason,
          expiresAt: now + deps.approvalTtlMs,
          recordFields: current ? current.data : null,
        }
      : null,
    dialect: deps.store.dialect,
  };
  const accepted = await deps.ops.run('acceptAction', acceptance);
  if (accepted.kind === 'taken') {
    return { ...(await answerFromKey(deps, ref, accepted.claim)), key: 'settled' };
  }
  if (acceptance.approval) deps.onApprovalRequested?.(approvalIdOf(acceptance.action.id));
  if (accepted.leased)
    return runFirstAttempt(deps, acceptance, accepted.fresh ? current : undefined);
  if (!needsApproval) deps.worker.notify();
  return { ...(await answerFromAction(deps, acceptance.action.id)), key: 'held' };
}

/**
 * The first attempt of an action accepted under this request's lease, run by the request, whose
 * answer waits for it up to `waitMs`. Past that, the request answers 202 with the action as it
 * is then, and the attempt goes on: its settling commit stores the key's answer, or, when it is
 * rescheduled, the key is let go as the request would have let it go (`keepAnswer`).
 */
async function runFirstAttempt(
  deps: ProposeDeps,
  acceptance: Acceptance,
  current: RecordSnapshot | null | undefined,
): Promise<Evaluated> {
  const { ref } = acceptance;
  const row = acceptedRow(acceptance, true);
  const outcome = (async (): Promise<Evaluated> => {
    let stored: { readonly row: ActionRow; readonly answer: ProposalAnswer } | undefined;
    const after = await deps.worker.runLeased(row, {
      current,
      // Stored with the outcome, in the same commit, and answered as stored.
      answer: (settled) => {
        stored = { row: settled, answer: answerFromRow(settled) };
        return { ref, ...toStored(stored.answer) };
      },
    });
    if (after && isSettled(after)) {
      const answer = stored?.row === after ? stored.answer : answerFromRow(after);
      return { ...answer, key: 'settled' };
    }
    return { ...(await answerFromAction(deps, row.id)), key: 'held' };
  })();
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), deps.waitMs);
  });
  const done = await Promise.race([outcome, waited]).finally(() => clearTimeout(timer));
  if (done) return done;
  // Tracked by the worker, whose stop (before the store closes) waits for the late answer too.
  void deps.worker.track(
    outcome
      .then(async (late) => {
        if (late.key === 'held') await keepAnswer(deps, ref, late);
      })
      .catch((err: unknown) =>
        deps.log?.error({ err, action_id: row.id }, 'a first attempt failed after its answer'),
      ),
  );
  return { ...answerFromRow(row), key: 'settled' };
}

const isSettled = (row: ActionRow) => row.status !== 'queued' && row.status !== 'executing';

/**
 * Stores `answer` as the key's, when it is an outcome. One that shows the action still waiting
 * for a human, queued or executing is no outcome: the key is let go instead, and the next request
 * with it answers from the action as it is then.
 */
async function keepAnswer(deps: ProposeDeps, ref: KeyRef, answer: ProposalAnswer): Promise<void> {
  if (isUnderWay(answer)) await deps.ops.run('releaseKey', { ref, now: deps.now() });
  else await deps.ops.run('completeKey', { ref, ...toStored(answer) });
}

/** An answer that shows its action waiting for a human, queued or executing: no outcome yet. */
const isUnderWay = (answer: ProposalAnswer) =>
  answer.kind === 'ok' &&
  answer.status === 202 &&
  ['pending_approval', 'queued', 'executing'].includes((answer.body as ActionView).status);

/** The answer an action's state gives: waiting up to `waitMs` while it is queued or executing. */
async function answerFromAction(deps: ProposeDeps, id: string): Promise<ProposalAnswer> {
  const settled = await deps.worker.waitForSettled(id, deps.waitMs);
  const row: ActionRow | undefined =
    settled ??
    (await deps.store.db.selectFrom('actions').selectAll().where('id', '=', id).executeTakeFirst());
  if (!row) throw new Error(`action ${id} vanished`);
  return answerFromRow(row);
}

function answerFromRow(row: ActionRow): ProposalAnswer {
  const view = toActionView(row);
  switch (row.status) {
    case 'executed':
    case 'failed':
    case 'dead':
      return { kind: 'ok', status: 200, body: view, json: JSON.stringify(view), replayed: false };
    case 'stale':
    case 'denied': {
      const error = (view.error ?? {}) as { code?: string; status?: number; message?: string };
      const { code, status, message, ...details } = error;
      return {
        kind: 'error',
        error: new AppError(code ?? row.status, status ?? 409, message ?? row.status, {
          details: { ...details, action: row.id },
        }),
        replayed: false,
      };
    }
    default:
      return { kind: 'ok', status: 202, body: view, json: JSON.stringify(view), replayed: false };
  }
}

/** What the key keeps of `answer`: its status, and the `StoredAnswer` as JSON text. */
function toStored(answer: ProposalAnswer): { status: number; json: string } {
  if (answer.kind === 'ok') {
    const { status } = answer;
    // A `StoredAnswer`, with the body's text put in as it is.
    const body = answer.json ?? JSON.stringify(answer.body);
    return { status, json: `{"ok":true,"status":${status},"body":${body}}` };
  }
  const { error } = answer;
  const stored: StoredAnswer = {
    ok: false,
    error: {
      code: error.code,
      status: error.status,
      message: error.message,
      details: { ...error.details },
    },
  };
  return { status: error.status, json: JSON.stringify(stored) };
}

function fromStored(stored: StoredAnswer, replayed: boolean): ProposalAnswer {
  if (stored.ok) return { kind: 'ok', status: stored.status, body: stored.body, replayed };
  const { code, status, message, details } = stored.error;
  return { kind: 'error', error: new AppError(code, status, message, { details }), replayed };
}
