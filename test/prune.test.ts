import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { openSqliteConnection } from '../src/store/index.js';
import { useTestGateways } from './helpers/gateway.js';

describe('pruning on SQLite', () => {
  const start = useTestGateways('sqlite');

  it('waits for the write lock in the writer thread, the event loop going on meanwhile', async () => {
    const { prune, store } = await start();
    // Another process holds the write lock (a CLI command, a long transaction).
    const other = openSqliteConnection(store.url.slice('sqlite:'.length));
    other.exec('BEGIN IMMEDIATE');
    try {
      const asked = performance.now();
      const pruning = prune();
      await sleep(20);
      // Run on the main thread, pruning waited in SQLite's busy handler, which stops the event
      // loop: for as long as the lock was held, up to busy_timeout (5 s).
      expect(performance.now() - asked).toBeLessThan(250);
      other.exec('COMMIT');
      expect(await pruning).toEqual({
        events: 0,
        requests: 0,
        deliveries: 0,
        keys: 0,
        activity: 0,
      });
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
    }
  });
});
