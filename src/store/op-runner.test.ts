import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../test/helpers/stores.js';
import { THREAD_OPS_MODULE, threadOps } from '../../test/helpers/thread-ops.js';
import { createOpRunner } from './op-runner.js';

describe('the op runner on sqlite', () => {
  it('starts a new writer thread after the last one died, failing only the batch it held', async () => {
    const database = createTestDatabase('sqlite');
    const store = await database.open();
    const ops = createOpRunner(store, threadOps, THREAD_OPS_MODULE);
    try {
      expect(await ops.run('one', undefined)).toBe(1);
      await expect(ops.run('exit', undefined)).rejects.toThrow(/thread/);
      expect(await ops.run('one', undefined)).toBe(1);
    } finally {
      await ops.close();
      await store.close();
      await database.drop();
    }
  });
});
