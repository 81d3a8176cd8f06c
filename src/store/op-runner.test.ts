import { describe, expect, it } from 'vitest';
import { useTestStores } from '../../test/helpers/stores.js';
import { THREAD_OPS_MODULE, threadOps } from '../../test/helpers/thread-ops.js';
import { appendAudit, verifyAudit } from '../audit/index.js';
import { createOpRunner } from './op-runner.js';
import type { Store } from './store.js';

describe('the op runner on sqlite', () => {
  const stores = useTestStores('sqlite');
  const opsOf = (store: Store) =>
    stores.closedAfter(createOpRunner(store, threadOps, THREAD_OPS_MODULE));

  it('starts a new writer thread after the last one died, failing only the batch it held', async () => {
    const ops = opsOf(await stores.open());
    expect(await ops.run('one', undefined)).toBe(1);
    await expect(ops.run('exit', undefined)).rejects.toThrow(/thread/);
    expect(await ops.run('one', undefined)).toBe(1);
  });

  it('keeps the audit chain whole when ops of a batch append, some roll back, and another writer appends between batches', async () => {
    const store = await stores.open();
    const ops = opsOf(store);
    // Submitted in one turn: one batch, one transaction, each op in a savepoint.
    const batch = (round: string) =>
      Promise.allSettled([
        ops.run('audit', `${round}-1`),
        ops.run('auditThenFail', `${round}-x`),
        ops.run('audit', `${round}-2`),
        ops.run('auditThenFail', `${round}-y`),
        ops.run('audit', `${round}-3`),
      ]);
    const outcomes = (settled: PromiseSettledResult<number>[]) =>
      settled.map((one) => (one.status === 'fulfilled' ? one.value : 'failed'));
    expect(outcomes(await batch('a'))).toEqual([1, 'failed', 2, 'failed', 3]);
    // Another connection extends the chain between two batches of the writer thread.
    await store.transaction((trx) =>
      appendAudit(trx, { kind: 'action', subject: 'between', change: 'tested' }, store.dialect),
    );
    expect(outcomes(await batch('b'))).toEqual([5, 'failed', 6, 'failed', 7]);
    expect(await verifyAudit(store.db)).toMatchObject({ ok: true, checked: 7 });
    const subjects = await store.db
      .selectFrom('audit_log')
      .select('subject')
      .orderBy('seq')
      .execute();
    expect(subjects.map((row) => row.subject)).toEqual([
      'a-1',
      'a-2',
      'a-3',
      'between',
      'b-1',
      'b-2',
      'b-3',
    ]);
  });
});
