import { describe, expect, it } from 'vitest';
import { useActionOps } from '../../test/helpers/action-ops.js';
import { BACKENDS } from '../../test/helpers/stores.js';
import type { Store } from '../store/index.js';
import type { ActionOps } from './action-ops.js';
import { claimKey, type KeyRef, peekKey, pruneKeys } from './idempotency.js';

const ref = { agent: 'support-bot', key: 'key-1' };
const LOCK = 30_000;

/** The action the key names, as stored. */
async function keyHolder(store: Store, key: KeyRef): Promise<string | null> {
  const row = await store.db
    .selectFrom('idempotency_keys')
    .select('action_id')
    .where('agent', '=', key.agent)
    .where('key', '=', key.key)
    .executeTakeFirst();
  return row?.action_id ?? null;
}

describe.each(BACKENDS)('idempotency keys on %s', (backend) => {
  const openOps = useActionOps(backend);
  let store: Store;
  let ops: ActionOps;
  const open = async () => {
    ({ store, ops } = await openOps());
  };
  /** Claims the key in a commit of its own, for `actionId` when given (as accepting does). */
  const claim = (now: number, actionId?: string, fingerprint = 'fp', key: KeyRef = ref) =>
    store.transaction((trx) =>
      claimKey(trx, {
        ref: key,
        fingerprint,
        now,
        lockMs: LOCK,
        ...(actionId ? { actionId } : {}),
      }),
    );
  const peek = (now: number, fingerprint = 'fp') => peekKey(store.db, { ref, fingerprint, now });
  const answer = (now: number, status: number, body: unknown, fingerprint = 'fp') =>
    ops.run('answerKey', {
      ref,
      fingerprint,
      now,
      lockMs: LOCK,
      status,
      json: JSON.stringify(body),
    });

  it('lets exactly one of 50 concurrent accepts with one key have it', async () => {
    await open();
    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) => claim(1_000, `act_${i}`)),
    );
    expect(claims.filter((found) => found.kind === 'claimed')).toHaveLength(1);
    expect(claims.filter((found) => found.kind === 'in_flight')).toHaveLength(49);
    const winner = claims.findIndex((found) => found.kind === 'claimed');
    expect(await keyHolder(store, ref)).toBe(`act_${winner}`);
  });

  it('lets exactly one of 50 concurrent refusals store its answer under one key', async () => {
    await open();
    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) => answer(1_000, 409, { attempt: i })),
    );
    expect(claims.filter((found) => found.kind === 'claimed')).toHaveLength(1);
    // Every loser finds the winner's answer, already stored in the winner's commit.
    const replays = claims.filter((found) => found.kind === 'replay');
    expect(replays).toHaveLength(49);
    expect(new Set(replays.map((found) => JSON.stringify(found)))).toHaveProperty('size', 1);
  });

  it('finds nothing under a free key, and writes nothing by looking', async () => {
    await open();
    expect(await peek(1_000)).toBeNull();
    expect(await peek(1_000)).toBeNull();
    const rows = await store.db.selectFrom('idempotency_keys').selectAll().execute();
    expect(rows).toEqual([]);
  });

  it('replays the stored answer for the same body and refuses another body', async () => {
    await open();
    expect(await answer(1_000, 200, { answer: 42 })).toEqual({ kind: 'claimed' });
    const replay = { kind: 'replay', status: 200, body: { answer: 42 } };
    expect(await peek(2_000)).toEqual(replay);
    expect(await claim(2_000, 'act_late')).toEqual(replay);
    expect(await peek(2_000, 'other-fp')).toEqual({ kind: 'mismatch' });
    expect(await answer(2_000, 409, {}, 'other-fp')).toEqual({ kind: 'mismatch' });
    // Keys are per agent: another agent's identical key is unrelated.
    expect(await claim(2_000, 'act_other', 'other-fp', { ...ref, agent: 'sales-bot' })).toEqual({
      kind: 'claimed',
    });
  });

  it('resumes the action of a holder that died, rather than accepting a second one', async () => {
    await open();
    await claim(1_000, 'act_1');
    expect(await peek(1_000 + LOCK - 1)).toEqual({ kind: 'in_flight' });
    const later = 1_000 + LOCK + 1;
    expect(await peek(later)).toEqual({ kind: 'resume', actionId: 'act_1' });
    // Of ten retries that got as far as accepting, one takes over and resumes; none accepts.
    const successors = await Promise.all(
      Array.from({ length: 10 }, (_, i) => claim(later, `act_retry_${i}`)),
    );
    expect(successors.filter((found) => found.kind === 'resume')).toEqual([
      { kind: 'resume', actionId: 'act_1' },
    ]);
    expect(successors.filter((found) => found.kind === 'in_flight')).toHaveLength(9);
    expect(await keyHolder(store, ref)).toBe('act_1');
  });

  it('lets a retry take over a key held without an action, once', async () => {
    await open();
    // A key claimed before accepting anything (as earlier versions did), by a holder that died.
    await claim(1_000);
    expect(await peek(1_000 + LOCK + 1)).toBeNull();
    const later = 1_000 + LOCK + 1;
    const retries = await Promise.all([claim(later, 'act_a'), claim(later, 'act_b')]);
    expect(retries.map((found) => found.kind).sort()).toEqual(['claimed', 'in_flight']);
    const winner = retries[0]?.kind === 'claimed' ? 'act_a' : 'act_b';
    expect(await keyHolder(store, ref)).toBe(winner);
  });

  it('prunes answered keys past retention, and the key is new again', async () => {
    await open();
    await answer(1_000, 200, {});
    expect(await pruneKeys(store.db, 1_000)).toBe(0);
    expect(await pruneKeys(store.db, 1_001)).toBe(1);
    expect(await peek(2_000, 'fp2')).toBeNull();
    expect(await claim(2_000, 'act_new', 'fp2')).toEqual({ kind: 'claimed' });
  });

  it('prunes a key let go without an answer, past retention, but not one still held', async () => {
    await open();
    const held = { agent: 'support-bot', key: 'key-held' };
    await claim(1_000, 'act_released');
    await ops.run('releaseKey', { ref, now: 1_000 });
    await claim(1_000, 'act_held', 'fp', held);
    // Let go (its action was under way), the key kept no answer; it was never pruned.
    expect(await pruneKeys(store.db, 1_001)).toBe(1);
    expect(await keyHolder(store, ref)).toBeNull();
    expect(await keyHolder(store, held)).toBe('act_held');
    expect(await pruneKeys(store.db, 1_000 + LOCK + 1)).toBe(1);
  });

  it('prunes at most the number of keys asked for a call', async () => {
    await open();
    for (const key of ['k1', 'k2', 'k3']) {
      const other = { ...ref, key };
      await ops.run('answerKey', {
        ref: other,
        fingerprint: 'fp',
        now: 1_000,
        lockMs: LOCK,
        status: 200,
        json: '{}',
      });
    }
    expect(await pruneKeys(store.db, 1_001, 2)).toBe(2);
    expect(await pruneKeys(store.db, 1_001, 2)).toBe(1);
    expect(await pruneKeys(store.db, 1_001, 2)).toBe(0);
  });
});
