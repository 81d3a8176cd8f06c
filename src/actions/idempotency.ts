import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';

/** What claiming an idempotency key found. */
export type KeyClaim =
  /** The key is ours: do the work, then `completeKey`. */
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

/**
 * Claims `key` for `agent` (keys are scoped per agent, as in Stripe). The row is inserted before
 * any work, so of any number of concurrent requests with one key exactly one is `claimed`. A claim
 * whose holder died (its lock ran out) may be taken over, once.
 */
export async function claimKey(
  db: Kysely<Database>,
  args: { ref: KeyRef; fingerprint: string; now: number; lockMs: number },
): Promise<KeyClaim> {
  const { ref, fingerprint, now, lockMs } = args;
  const inserted = await db
    .insertInto('idempotency_keys')
    .values({
      agent: ref.agent,
      key: ref.key,
      fingerprint,
      state: 'in_flight',
      locked_until: now + lockMs,
      created_at: now,
    })
    .onConflict((oc) => oc.columns(['agent', 'key']).doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { kind: 'claimed' };

  const row = await db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('agent', '=', ref.agent)
    .where('key', '=', ref.key)
    .executeTakeFirst();
  // Pruned between our insert and this read: the key is free again.
  if (!row) return claimKey(db, args);
  if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (row.state === 'done') {
    return {
      kind: 'replay',
      status: row.response_status ?? 200,
      body: JSON.parse(row.response_body ?? 'null'),
    };
  }
  if (row.locked_until > now) return { kind: 'in_flight' };

  // Compare-and-set on the old lock: of several requests finding it abandoned, one takes over.
  const takeover = await db
    .updateTable('idempotency_keys')
    .set({ locked_until: now + lockMs })
    .where('agent', '=', ref.agent)
    .where('key', '=', ref.key)
    .where('state', '=', 'in_flight')
    .where('locked_until', '=', row.locked_until)
    .executeTakeFirst();
  if (Number(takeover.numUpdatedRows) !== 1) return { kind: 'in_flight' };
  return row.action_id ? { kind: 'resume', actionId: row.action_id } : { kind: 'claimed' };
}

/**
 * Ties the accepted action to the key, in the transaction that accepts it. False when the key
 * already names an action: a request that took the key over while this one was slow got there
 * first, and this one must not accept a second action.
 */
export async function attachAction(
  trx: Kysely<Database>,
  ref: KeyRef,
  actionId: string,
): Promise<boolean> {
  const attached = await trx
    .updateTable('idempotency_keys')
    .set({ action_id: actionId })
    .where('agent', '=', ref.agent)
    .where('key', '=', ref.key)
    .where('action_id', 'is', null)
    .executeTakeFirst();
  return Number(attached.numUpdatedRows) === 1;
}

/** The action a key names, if any. */
export async function actionOfKey(db: Kysely<Database>, ref: KeyRef): Promise<string | null> {
  const row = await db
    .selectFrom('idempotency_keys')
    .select('action_id')
    .where('agent', '=', ref.agent)
    .where('key', '=', ref.key)
    .executeTakeFirst();
  return row?.action_id ?? null;
}

/** The answer a key keeps: what a request with it was answered. */
export interface KeyAnswer {
  readonly ref: KeyRef;
  readonly status: number;
  readonly body: unknown;
}

/** Stores the answer; later requests with the key get it replayed. */
export async function completeKey(db: Kysely<Database>, args: KeyAnswer): Promise<void> {
  const { ref, status, body } = args;
  await db
    .updateTable('idempotency_keys')
    .set({ state: 'done', response_status: status, response_body: JSON.stringify(body) })
    .where('agent', '=', ref.agent)
    .where('key', '=', ref.key)
    .execute();
}

/**
 * Frees a key whose request failed before anything was accepted (a 5xx), so the client's retry
 * runs again instead of replaying an error that was ours.
 */
export async function releaseKey(db: Kysely<Database>, args: { ref: KeyRef }): Promise<void> {
  const { ref } = args;
  await db
    .deleteFrom('idempotency_keys')
    .where('agent', '=', ref.agent)
    .where('key', '=', ref.key)
    .where('state', '=', 'in_flight')
    .where('action_id', 'is', null)
    .execute();
}

/** Deletes keys older than `before` (epoch ms) that are no longer in flight. */
export async function pruneKeys(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', before)
    .where('state', '=', 'done')
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
