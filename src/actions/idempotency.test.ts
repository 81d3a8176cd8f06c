import { describe, expect, it } from 'vitest';
import { useActionOps } from '../../test/helpers/action-ops.js';
import { BACKENDS } from '../../test/helpers/stores.js';
import type { Store } from '../store/index.js';
import type { ActionOps } from './action-ops.js';
import { actionOfKey, attachAction, type KeyRef, pruneKeys } from './idempotency.js';

const ref = { agent: 'support-bot', key: 'key-1' };
const LOCK = 30_000;

describe.each(BACKENDS)('idempotency keys on %s', (backend) => {
  const openOps = useActionOps(backend);
  let store: Store;
  let ops: ActionOps;
  const open = async () => {
    ({ store, ops } = await openOps());
  };
  const claimKey = (now: number, fingerprint = 'fp', key: KeyRef = ref) =>
    ops.run('claimKey', { ref: key, fingerprint, now, lockMs: LOCK });
  const completeKey = (status: number, body: unknown) =>
    ops.run('completeKey', { ref, status, body });

  it('lets exactly one of 50 concurrent requests with one key do the work', async () => {
    await open();
    const claims = await Promise.all(Array.from({ length: 50 }, () => claimKey(1_000)));
    expect(claims.filter((claim) => claim.kind === 'claimed')).toHaveLength(1);
    expect(claims.filter((claim) => claim.kind === 'in_flight')).toHaveLength(49);
  });

  it('replays the stored answer for the same body and refuses another body', async () => {
    await open();
    expect(await claimKey(1_000)).toEqual({ kind: 'claimed' });
    await completeKey(200, { answer: 42 });
    expect(await claimKey(2_000)).toEqual({
      kind: 'replay',
      status: 200,
      body: { answer: 42 },
    });
    expect(await claimKey(2_000, 'other-fp')).toEqual({ kind: 'mismatch' });
    // Keys are per agent: another agent's identical key is unrelated.
    expect(await claimKey(2_000, 'other-fp', { ...ref, agent: 'sales-bot' })).toEqual({
      kind: 'claimed',
    });
  });

  it('hands an abandoned claim to one successor, and resumes the accepted action rather than redoing it', async () => {
    await open();
    await claimKey(1_000);
    await store.transaction((trx) => attachAction(trx, ref, 'act_1'));
    expect(await claimKey(1_000 + LOCK - 1)).toEqual({ kind: 'in_flight' });
    const later = 1_000 + LOCK + 1;
    const successors = await Promise.all(Array.from({ length: 10 }, () => claimKey(later)));
    expect(successors.filter((claim) => claim.kind === 'resume')).toEqual([
      { kind: 'resume', actionId: 'act_1' },
    ]);
    expect(successors.filter((claim) => claim.kind === 'in_flight')).toHaveLength(9);
  });

  it('lets a slow first request that lost its key accept no second action', async () => {
    await open();
    await claimKey(1_000);
    // The first request is still working when its lock runs out and a retry takes the key over.
    expect(await claimKey(1_000 + LOCK + 1)).toEqual({ kind: 'claimed' });
    expect(await store.transaction((trx) => attachAction(trx, ref, 'act_retry'))).toBe(true);
    expect(await store.transaction((trx) => attachAction(trx, ref, 'act_first'))).toBe(false);
    expect(await actionOfKey(store.db, ref)).toBe('act_retry');
  });

  it('frees a key whose request failed before acceptance, but never one with an action', async () => {
    await open();
    await claimKey(1_000);
    await ops.run('releaseKey', { ref });
    expect(await claimKey(1_001)).toEqual({ kind: 'claimed' });
    await store.transaction((trx) => attachAction(trx, ref, 'act_2'));
    await ops.run('releaseKey', { ref });
    expect(await claimKey(1_002)).toEqual({ kind: 'in_flight' });
  });

  it('prunes answered keys past retention, and the key is new again', async () => {
    await open();
    await claimKey(1_000);
    await completeKey(200, {});
    expect(await pruneKeys(store.db, 1_000)).toBe(0);
    expect(await pruneKeys(store.db, 1_001)).toBe(1);
    expect(await claimKey(2_000, 'fp2')).toEqual({ kind: 'claimed' });
  });
});
