import type { Kysely, Selectable } from 'kysely';
import { AppError } from '../errors.js';
import { type Database, type IdempotencyKeyTable, preparedQuery } from '../store/index.js';

/** What claiming an idempotency key found. */
export type KeyClaim =
  /** The key is ours: this request's answer is the one stored under it. */
  | { readonly kind: 'claimed' }
  /** The work was done: answer with what was answered then. */
  | { readonly kind: 'replay'; readonly status: number; readonly body: unknown }
  /** Another request with this key is being handled now. */
  | { readonly kind: 'in_flight' }
  /** The key was used for a different request. */
  | { readonly kind: 'mismatch' }
  /**
   * The first request died after its action was accepted: take over, but answer from that
   * action; never accept a second one.
   */
  | { readonly kind: 'resume'; readonly actionId: string };

export interface KeyRef {
  readonly agent: string;
  readonly key: string;
}

/** What a request holds its key with: the request's fingerprint, and how long the hold lasts. */
export interface KeyClaimArgs {
  readonly ref: KeyRef;
  readonly fingerprint: string;
  readonly now: number;
  readonly lockMs: number;
}

/**
 * What a request finds under its key before it does any work, read without writing: null when
 * the key is free (or its holder died before accepting anything), so the request goes on and
 * takes the key where it writes (`claimKey`, in the commit that accepts its action or stores its
 * answer). A holder that died after accepting its action is `resume`d by whoever asks next.
 */
export async function peekKey(
  db: Kysely<Database>,
  args: Omit<KeyClaimArgs, 'lockMs' | 'fingerprint'> & {
    /** Null: as the request that took the key (what it holds, whatever was asked). */
    readonly fingerprint: string | null;
  },
): Promise<Exclude<KeyClaim, { kind: 'claimed' }> | null> {
  const { ref, fingerprint, now } = args;
  const row = await readKey(db, ref);
  if (!row) return null;
  const found = keyState(row, fingerprint ?? row.fingerprint, now);
  if (found) return found;
  return row.action_id ? { kind: 'resume', actionId: row.action_id } : null;
}

/**
 * Claims `key` for `agent` (keys are scoped per agent, as in Stripe), for `actionId` when given:
 * of any number of concurrent requests with one key exactly one is `claimed`. Runs in the commit
 * that acts on the claim, so a key is never held by a request that accepted nothing. A claim
 * whose holder died (its lock ran out) may be taken over, once.
 */
export async function claimKey(
  db: Kysely<Database>,
  args: KeyClaimArgs & { readonly actionId?: string },
): Promise<KeyClaim> {
  const { ref, fingerprint, now, lockMs } = args;
  const actionId = args.actionId ?? null;
  const inserted = await insertKey(db, {
    agent: ref.agent,
    key: ref.key,
    fingerprint,
    lockedUntil: now + lockMs,
    now,
    actionId,
  });
  if (Number(inserted.numAffectedRows ?? 0) === 1) return { kind: 'claimed' };

  const row = await readKey(db, ref);
  // Pruned between our insert and this read: the key is free again.
  if (!row) return claimKey(db, args);
  const found = keyState(row, fingerprint, now);
  if (found) return found;

  // Compare-and-set on the old lock: of several requests finding it abandoned, one takes over.
  // One whose holder had accepted an action is resumed, never given a second action.
  const takeover = await db
    .updateTable('idempotency_keys')
    .set({
      locked_until: now + lockMs,
      ...(row.action_id === null && actionId !== null ? { action_id: actionId } : {}),
    })
    .where('agent', '=', ref.agent)
    .where('key', '=', ref.key)
    .where('state', '=', 'in_flight')
    .where('locked_until', '=', row.locked_until)
    .executeTakeFirst();
  if (Number(takeover.numUpdatedRows) !== 1) return { kind: 'in_flight' };
  return row.action_id ? { kind: 'resume', actionId: row.action_id } : { kind: 'claimed' };
}

const insertKey = preparedQuery(
  (
    db,
    v: {
      agent: string;
      key: string;
      fingerprint: string;
      lockedUntil: number;
      now: number;
      actionId: string | null;
    },
  ) =>
    db
      .insertInto('idempotency_keys')
      .values({
        agent: v.agent,
        key: v.key,
        fingerprint: v.fingerprint,
        state: 'in_flight',
        locked_until: v.lockedUntil,
        created_at: v.now,
        action_id: v.actionId,
      })
      .onConflict((oc) => oc.columns(['agent', 'key']).doNothing()),
);

const selectKey = preparedQuery((db, ref: KeyRef) =>
  db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('agent', '=', ref.agent)
    .where('key', '=', ref.key),
);

async function readKey(db: Kysely<Database>, ref: KeyRef) {
  return (await selectKey(db, { agent: ref.agent, key: ref.key })).rows[0];
}

/** What a key's row says to a request with `fingerprint` at `now`; null when its lock ran out. */
function keyState(
  row: Selectable<IdempotencyKeyTable>,
  fingerprint: string,
  now: number,
): Exclude<KeyClaim, { kind: 'claimed' | 'resume' }> | null {
  if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (row.state === 'done') {
    return {
      kind: 'replay',
      status: row.response_status ?? 200,
      body: JSON.parse(row.response_body ?? 'null'),
    };
  }
  return row.locked_until > now ? { kind: 'in_flight' } : null;
}

/** The answer a key keeps: what a request with it was answered. */
export interface KeyAnswer {
  readonly ref: KeyRef;
  readonly status: number;
  /**
   * The answer's body as JSON text, stored as it is. Made by the request: text crosses to the
   * SQLite writer thread as one copy, where an object is copied field by field and then
   * serialized there.
   */
  readonly json: string;
}

/** Stores the answer; later requests with the key get it replayed. */
export async function completeKey(db: Kysely<Database>, args: KeyAnswer): Promise<void> {
  const { ref, status, json } = args;
  await storeAnswer(db, { agent: ref.agent, key: ref.key, status, body: json });
}

const storeAnswer = preparedQuery(
  (db, v: { agent: string; key: string; status: number; body: string }) =>
    db
      .updateTable('idempotency_keys')
      .set({ state: 'done', response_status: v.status, response_body: v.body })
      .where('agent', '=', v.agent)
      .where('key', '=', v.key),
);

/**
 * Ends this request's hold on the key without storing an answer: its action is still under way,
 * so there is no outcome to keep yet. The next request with the key answers from the action
 * (`resume`), and stores the outcome once there is one.
 */
export async function releaseKey(
  db: Kysely<Database>,
  args: { readonly ref: KeyRef; readonly now: number },
): Promise<void> {
  const { ref, now } = args;
  await db
    .updateTable('idempotency_keys')
    .set({ locked_until: now })
    .where('agent', '=', ref.agent)
    .where('key', '=', ref.key)
    .where('state', '=', 'in_flight')
    .execute();
}

/**
 * Takes the key and stores the answer of a request that accepted nothing (a refusal, a dry run)
 * in one commit; what the key held instead when another request had it first.
 */
export async function answerKey(
  db: Kysely<Database>,
  args: KeyClaimArgs & Omit<KeyAnswer, 'ref'>,
): Promise<KeyClaim> {
  const claim = await claimKey(db, args);
  if (claim.kind !== 'claimed') return claim;
  // A key pruned while its action is kept: that action is the key's answer, not this refusal.
  const earlier = await actionOfKey(db, args.ref);
  if (earlier) throw keyNamedAction(args.ref, earlier);
  await completeKey(db, args);
  return claim;
}

/** The action an agent's key named, if any: kept after the key's own answer was pruned. */
export async function actionOfKey(db: Kysely<Database>, ref: KeyRef) {
  return (await selectActionOfKey(db, { agent: ref.agent, key: ref.key })).rows[0];
}

const selectActionOfKey = preparedQuery((db, ref: KeyRef) =>
  db
    .selectFrom('actions')
    .select(['id', 'status', 'lease_owner', 'created_at', 'decision'])
    .where('agent', '=', ref.agent)
    .where('idempotency_key', '=', ref.key),
);

/**
 * The refusal of a key whose answer was pruned while the action it named is kept (422): that
 * action's writes carry the key down to the systems, so anything else under it would be taken
 * there for the first.
 */
export function keyNamedAction(
  ref: KeyRef,
  earlier: { readonly id: string; readonly created_at: number },
): AppError {
  return new AppError(
    'idempotency-key-reuse',
    422,
    `this Idempotency-Key named action ${earlier.id}, accepted ${new Date(earlier.created_at).toISOString()}; its answer is no longer kept, but the action is: use a new key`,
    { details: { idempotencyKey: ref.key, previousAction: earlier.id } },
  );
}

/**
 * Deletes up to `limit` keys older than `before` (epoch ms) that nobody holds any more: answered,
 * or let go without an answer (`releaseKey`, a holder that died) before `before`; the number
 * deleted. A later request with a pruned key whose action is kept is refused (`keyNamedAction`).
 * A store op (`pruneKeys` of `pruneOps`), run in batches until one deletes fewer than `limit`.
 */
export async function pruneKeys(
  db: Kysely<Database>,
  before: number,
  limit = 1000,
): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where(({ eb, refTuple, selectFrom }) =>
      eb(
        refTuple('agent', 'key'),
        'in',
        selectFrom('idempotency_keys')
          .select(['agent', 'key'])
          .where('created_at', '<', before)
          .where((inner) =>
            inner.or([inner('state', '=', 'done'), inner('locked_until', '<', before)]),
          )
          .limit(limit)
          .$asTuple('agent', 'key'),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
