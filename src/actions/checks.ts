import type { Agent } from '../agents/index.js';
import type { Connector, RecordRef, RecordSnapshot } from '../connectors/connector.js';
import { AppError } from '../errors.js';
import {
  type CompiledPolicies,
  evaluatePolicies,
  type PolicyInput,
  type Verdict,
} from '../policy/index.js';
import type { Store } from '../store/index.js';
import type { ActionRow } from './action-view.js';
import { type CatalogueLimits, catalogue, type OperationSpec, type Risk } from './catalogue.js';

/** The operation, checked against the catalogue and the agent's permissions, with parsed params. */
export interface ResolvedOperation {
  readonly spec: OperationSpec;
  readonly params: Record<string, unknown>;
}

/** A resolved operation with its risk on the record as read now (what policy sees). */
export interface AssessedOperation extends ResolvedOperation {
  readonly risk: Risk;
}

/** The operation's risk on `record` as read now (null for a create). */
export function assessRisk(
  operation: ResolvedOperation,
  limits: CatalogueLimits,
  record: RecordSnapshot | null,
): AssessedOperation {
  return {
    ...operation,
    risk: operation.spec.risk(operation.params, limits, record?.data ?? null),
  };
}

/** Throws `unknown-operation` (422), `not-permitted` (403), `invalid-params` or `invalid-target` (422). */
export function resolveOperation(
  agent: Agent,
  operation: string,
  target: RecordRef,
  rawParams: unknown,
): ResolvedOperation {
  const spec = catalogue.get(operation);
  if (!spec) {
    throw new AppError('unknown-operation', 422, `no operation ${operation} in the catalogue`, {
      details: { operation, operations: [...catalogue.keys()] },
    });
  }
  if (!agent.operations.includes(operation)) {
    throw new AppError('not-permitted', 403, `agent ${agent.name} may not propose ${operation}`, {
      details: { agent: agent.name, operation, permitted: agent.operations },
    });
  }
  const parsed = spec.params.safeParse(rawParams);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${['params', ...issue.path].join('.')}: ${issue.message}`,
    );
    throw new AppError('invalid-params', 422, problems.join('; '), { details: { problems } });
  }
  if (spec.targetType !== '*' && target.type !== spec.targetType) {
    throw new AppError(
      'invalid-target',
      422,
      `${operation} acts on a ${spec.targetType}, not a ${target.type}`,
      { details: { operation, expected: spec.targetType, got: target.type } },
    );
  }
  return { spec, params: parsed.data };
}

/** The connector of a target's system; throws `unknown-system` (422). */
export function connectorFor(
  connectors: ReadonlyMap<string, Connector>,
  system: string,
): Connector {
  const connector = connectors.get(system);
  if (!connector) {
    throw new AppError('unknown-system', 422, `no connector for system ${system}`, {
      details: { system, systems: [...connectors.keys()] },
    });
  }
  return connector;
}

function sameRecord(a: RecordRef, b: RecordRef): boolean {
  return a.system === b.system && a.type === b.type && a.id === b.id;
}

/**
 * When the basis names events, the target must be the record they concern or one the connector
 * of that record declares related to it: a note meant for one customer cannot land on another's
 * record. Throws `unknown-basis-event` or `target-mismatch` (422).
 */
export async function checkTargetBinding(
  store: Store,
  connectors: ReadonlyMap<string, Connector>,
  target: RecordRef,
  eventIds: readonly string[],
): Promise<void> {
  if (eventIds.length === 0) return;
  const rows = await store.db
    .selectFrom('events')
    .select(['id', 'record_system', 'record_type', 'record_id'])
    .where('id', 'in', [...eventIds])
    .execute();
  const missing = eventIds.filter((id) => !rows.some((row) => row.id === id));
  if (missing.length > 0) {
    throw new AppError('unknown-basis-event', 422, `no event ${missing.join(', ')} in the inbox`, {
      details: { events: missing },
    });
  }
  for (const row of rows) {
    const about =
      row.record_system && row.record_type && row.record_id
        ? { system: row.record_system, type: row.record_type, id: row.record_id }
        : null;
    if (about && sameRecord(about, target)) continue;
    // Asked of the event's record's own connector: another name may not serve its type.
    const connector = about ? connectors.get(about.system) : undefined;
    const related = about && connector ? await connector.related(about) : [];
    if (related.some((ref) => sameRecord(ref, target))) continue;
    throw new AppError(
      'target-mismatch',
      422,
      `event ${row.id} concerns ${about ? `${about.system}:${about.type}:${about.id}` : 'no record'}, not ${target.system}:${target.type}:${target.id}`,
      { details: { event: row.id, eventRecord: about, target } },
    );
  }
}

/** Reads the target as it is now; throws `target-not-found` (422). */
export async function readTarget(connector: Connector, target: RecordRef): Promise<RecordSnapshot> {
  const snapshot = await connector.read(target);
  if (!snapshot) {
    throw new AppError(
      'target-not-found',
      422,
      `${target.system}:${target.type}:${target.id} does not exist`,
      {
        details: { target },
      },
    );
  }
  return snapshot;
}

/**
 * The refusal of a decision made on an older revision: the current revision and fields, and the
 * inbox events about the record that the agent's basis did not include.
 */
export async function staleBasis(
  store: Store,
  target: RecordRef,
  basis: { revision?: string | undefined; events?: readonly string[] } | undefined,
  current: RecordSnapshot,
): Promise<AppError> {
  const seen = new Set(basis?.events ?? []);
  const recent = await store.db
    .selectFrom('events')
    .select(['id', 'type', 'received_at'])
    .where('record_system', '=', target.system)
    .where('record_type', '=', target.type)
    .where('record_id', '=', target.id)
    .orderBy('id', 'desc')
    .limit(20)
    .execute();
  const newest = [...seen].sort().at(-1);
  const eventsSince = recent
    .filter((event) => !seen.has(event.id) && (!newest || event.id > newest))
    .map((event) => ({
      event: event.id,
      type: event.type,
      receivedAt: new Date(event.received_at).toISOString(),
    }))
    .reverse();
  return new AppError(
    'stale-basis',
    409,
    `the record is at revision ${current.revision}, the decision was made on ${basis?.revision ?? 'no revision'}`,
    {
      details: {
        target,
        basisRevision: basis?.revision ?? null,
        currentRevision: current.revision,
        current: current.data,
        eventsSince,
      },
    },
  );
}

/** What policy sees of a proposal. */
export function policyInput(
  agent: Agent,
  operation: AssessedOperation,
  target: RecordRef,
  record: RecordSnapshot | null,
  now: number,
): PolicyInput {
  return {
    proposal: {
      operation: operation.spec.name,
      target,
      params: operation.params,
      risk: operation.risk,
    },
    record: record?.data ?? null,
    agent: { name: agent.name, operations: agent.operations },
    now: new Date(now),
  };
}

/** Runs the policy rules; a deny becomes `policy-denied` (403), the rest is returned. */
export function decide(
  policies: CompiledPolicies,
  agent: Agent,
  operation: AssessedOperation,
  target: RecordRef,
  record: RecordSnapshot | null,
  now: number,
): Verdict {
  const verdict = evaluatePolicies(policies, policyInput(agent, operation, target, record, now));
  if (verdict.kind === 'deny') {
    throw new AppError('policy-denied', 403, `${verdict.rule}: ${verdict.reason}`, {
      details: { rule: verdict.rule, reason: verdict.reason },
    });
  }
  return verdict;
}

/** What checking an action again needs. */
export interface RecheckDeps {
  readonly store: Store;
  readonly policies: CompiledPolicies;
  readonly limits: CatalogueLimits;
  readonly now: () => number;
}

/**
 * The checks of a proposal again, on the record as it is now (before executing an accepted
 * action, or approving one): params, the basis revision, policy. Throws `stale-basis` (409,
 * with what changed) or `policy-denied` (403); a read that fails throws as the read does.
 */
export async function checkActionAgain(
  deps: RecheckDeps,
  row: ActionRow,
  connector: Connector,
): Promise<RecordSnapshot | null> {
  const target = JSON.parse(row.target) as RecordRef;
  const agent: Agent = { name: row.agent, operations: [row.operation] };
  const resolved = resolveOperation(agent, row.operation, target, JSON.parse(row.params));
  const current = resolved.spec.kind === 'update' ? await readTarget(connector, target) : null;
  if (current && row.expected_revision !== null && current.revision !== row.expected_revision) {
    const basis = row.basis ? JSON.parse(row.basis) : undefined;
    throw await staleBasis(deps.store, target, basis, current);
  }
  const operation = assessRisk(resolved, deps.limits, current);
  if (operation.risk === 'high' && !needsApproval(row)) {
    // The record moved on without a new revision to compare (no basis was named): the action
    // is high risk now (a discount on top of others) and was accepted without a human.
    throw new AppError(
      'approval-required',
      403,
      `${operation.spec.name} is high risk on the record as it is now; propose it again to have it approved`,
      { details: { risk: operation.risk } },
    );
  }
  const verdict = decide(deps.policies, agent, operation, target, current, deps.now());
  // A rule now asks for a human about an action that was accepted without one: it must not run
  // unapproved. Refused, so the agent proposes it again and the proposal waits for approval.
  if (verdict.kind === 'needs_approval' && !needsApproval(row)) {
    throw new AppError(
      'approval-required',
      403,
      `${verdict.rule}: ${verdict.reason}; propose it again to have it approved`,
      { details: { rule: verdict.rule, reason: verdict.reason } },
    );
  }
  return current;
}

/** Whether the action waited for a human when it was proposed (its verdict says so). */
export function needsApproval(row: Pick<ActionRow, 'verdict'>): boolean {
  return (
    row.verdict !== null && (JSON.parse(row.verdict) as { kind?: string }).kind === 'needs_approval'
  );
}
