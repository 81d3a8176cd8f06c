import { afterEach, describe, expect, it } from 'vitest';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../../test/helpers/stores.js';
import type { Store } from '../store/index.js';
import {
  actionOfKey,
  attachAction,
  claimKey,
  completeKey,
  pruneKeys,
  releaseKey,
} from './idempotency.js';

const ref = { agent: 'support-bot', key: 'key-1' };
const LOCK = 30_000;

describe.each(BACKENDS)('idempotency keys on %s', (backend) => {
  let database: TestDatabase;
  let store: Store;
  afterEach(async () => {
    await store?.close();
    await database?.drop();
  });
  const open = async () => {
    database = createTestDatabase(backend);
    store = await database.open();
  };

  it('lets exactly one of 50 concurrent requests with one key do the work', async () => {
    await open();
    const claims = await Promise.all(
      Array.from({ length: 50 }, () => claimKey(store, ref, 'fp', 1_000, LOCK)),
    );
    expect(claims.filter((claim) => claim.kind === 'claimed')).toHaveLength(1);
    expect(claims.filter((claim) => claim.kind === 'in_flight')).toHaveLength(49);
  });

  it('replays the stored answer for the same body and refuses another body', async () => {
    await open();
    expect(await claimKey(store, ref, 'fp', 1_000, LOCK)).toEqual({ kind: 'claimed' });
    await completeKey(store, ref, 200, { answer: 42 });
    expect(await claimKey(store, ref, 'fp', 2_000, LOCK)).toEqual({
      kind: 'replay',
      status: 200,
      body: { answer: 42 },
    });
    expect(await claimKey(store, ref, 'other-fp', 2_000, LOCK)).toEqual({ kind: 'mismatch' });
    // Keys are per agent: another agent's identical key is unrelated.
    expect(await claimKey(store, { ...ref, agent: 'sales-bot' }, 'other-fp', 2_000, LOCK)).toEqual({
      kind: 'claimed',
    });
  });

  it('hands an abandoned claim to one successor, and resumes the accepted action rather than redoing it', async () => {
    await open();
    await claimKey(store, ref, 'fp', 1_000, LOCK);
    await store.transaction((trx) => attachAction(trx, ref, 'act_1'));
    expect(await claimKey(store, ref, 'fp', 1_000 + LOCK - 1, LOCK)).toEqual({ kind: 'in_flight' });
    const later = 1_000 + LOCK + 1;
    const successors = await Promise.all(
      Array.from({ length: 10 }, () => claimKey(store, ref, 'fp', later, LOCK)),
    );
    expect(successors.filter((claim) => claim.kind === 'resume')).toEqual([
      { kind: 'resume', actionId: 'act_1' },
    ]);
    expect(successors.filter((claim) => claim.kind === 'in_flight')).toHaveLength(9);
  });

  it('lets a slow first request that lost its key accept no second action', async () => {
    await open();
    await claimKey(store, ref, 'fp', 1_000, LOCK);
    // The first request is still working when its lock runs out and a retry takes the key over.
    expect(await claimKey(store, ref, 'fp', 1_000 + LOCK + 1, LOCK)).toEqual({ kind: 'claimed' });
    expect(await store.transaction((trx) => attachAction(trx, ref, 'act_retry'))).toBe(true);
    expect(await store.transaction((trx) => attachAction(trx, ref, 'act_first'))).toBe(false);
    expect(await actionOfKey(store, ref)).toBe('act_retry');
  });

  it('frees a key whose request failed before acceptance, but never one with an action', async () => {
    await open();
    await claimKey(store, ref, 'fp', 1_000, LOCK);
    await releaseKey(store, ref);
    expect(await claimKey(store, ref, 'fp', 1_001, LOCK)).toEqual({ kind: 'claimed' });
    await store.transaction((trx) => attachAction(trx, ref, 'act_2'));
    await releaseKey(store, ref);
    expect(await claimKey(store, ref, 'fp', 1_002, LOCK)).toEqual({ kind: 'in_flight' });
  });

  it('prunes answered keys past retention, and the key is new again', async () => {
    await open();
    await claimKey(store, ref, 'fp', 1_000, LOCK);
    await completeKey(store, ref, 200, {});
    expect(await pruneKeys(store, 1_000)).toBe(0);
    expect(await pruneKeys(store, 1_001)).toBe(1);
    expect(await claimKey(store, ref, 'fp2', 2_000, LOCK)).toEqual({ kind: 'claimed' });
  });
});
