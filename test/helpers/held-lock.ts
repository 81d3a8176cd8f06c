import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { openSqliteConnection, type Store, sqliteFile } from '../../src/store/index.js';

/**
 * Starts `write` while another connection (a CLI command, a long transaction) holds the write
 * lock of the SQLite `store`, checks that the event loop goes on meanwhile, then lets the lock go
 * and answers what `write` did. A write on the main thread's connection waits in SQLite's busy
 * handler, which stops the event loop: for as long as the lock is held, up to busy_timeout (5 s).
 */
export async function writeWhileLocked<T>(store: Store, write: () => Promise<T>): Promise<T> {
  const other = openSqliteConnection(sqliteFile(store));
  other.exec('BEGIN IMMEDIATE');
  try {
    const asked = performance.now();
    const writing = write();
    await sleep(20);
    expect(performance.now() - asked).toBeLessThan(250);
    other.exec('COMMIT');
    return await writing;
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
  }
}
