import { describe, expect, it } from 'vitest';
import { useTestGateways } from './helpers/gateway.js';
import { writeWhileLocked } from './helpers/held-lock.js';

describe('pruning on SQLite', () => {
  const start = useTestGateways('sqlite');

  it('waits for the write lock in the writer thread, the event loop going on meanwhile', async () => {
    const { prune, store } = await start();
    expect(await writeWhileLocked(store, prune)).toEqual({
      events: 0,
      requests: 0,
      deliveries: 0,
      keys: 0,
      activity: 0,
    });
  });
});
