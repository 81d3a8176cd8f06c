import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/stores.js';
import { THREAD_OPS_MODULE, threadOps } from '../../test/helpers/thread-ops.js';
import type { InboxDelivery } from '../ingest/inbox.js';
import { createInboxWriter } from '../ingest/inbox-writer.js';
import { createOpRunner } from './op-runner.js';
import { takeTurn, writeTurns } from './write-turns.js';

/** `events` webhook deliveries of one event each, 2 KB bodies, ids never seen before. */
function deliveries(events: number): InboxDelivery[] {
  return Array.from({ length: events }, () => {
    const id = randomUUID();
    return {
      source: 'helpdesk',
      system: 'helpdesk',
      receivedAt: Date.now(),
      headers: { 'webhook-id': id },
      body: Buffer.alloc(2048, 1),
      events: [
        {
          providerEventId: id,
          dedupKey: id,
          type: 'ticket.updated',
          record: { system: 'helpdesk', type: 'ticket', id: id.slice(0, 4) },
          occurredAt: null,
          itemIndex: null,
        },
      ],
    };
  });
}

describe('turns at the SQLite write lock', { timeout: 30_000 }, () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
  });

  it("gives the op runner's writer its turn while the inbox writer commits batch after batch", async () => {
    database = createTestDatabase('sqlite');
    const store = await database.open();
    const inbox = createInboxWriter(store);
    const ops = createOpRunner(store, threadOps, THREAD_OPS_MODULE);
    let ingesting = true;
    // Two batches of 200 events always in flight, as a steady stream of webhooks makes them.
    const ingest = async () => {
      while (ingesting) await inbox.write(deliveries(200));
    };
    const streams = [ingest(), ingest()];
    try {
      await ops.run('one', undefined);
      const waits: number[] = [];
      const until = Date.now() + 2_000;
      while (Date.now() < until) {
        const started = performance.now();
        await ops.run('audit', 'between batches');
        waits.push(performance.now() - started);
      }
      waits.sort((a, b) => a - b);
      // Each op waits for at most about one inbox batch (slowest 22-32 ms in runs here). Left to
      // SQLite's busy handler, the op's writer slept while the inbox's took the lock again: the
      // slowest op waited 0.9-4.4 s, or failed after 5 s with "database is locked".
      expect(waits.length).toBeGreaterThan(40);
      expect(waits.at(-1)).toBeLessThan(500);
    } finally {
      ingesting = false;
      await Promise.all(streams);
      await ops.close();
      await inbox.close();
      await store.close();
    }
  });

  it('goes on at once when a writer thread ends during its turn', async () => {
    database = createTestDatabase('sqlite');
    const store = await database.open();
    const ops = createOpRunner(store, threadOps, THREAD_OPS_MODULE);
    try {
      // The thread ends inside its batch, holding the turn.
      await expect(ops.run('exit', undefined)).rejects.toThrow();
      const started = performance.now();
      expect(await ops.run('one', undefined)).toBe(1);
      // A new thread writes without waiting out the 5 s after which a turn counts as stuck
      // (starting the thread takes up to about 1.5 s on a busy machine).
      expect(performance.now() - started).toBeLessThan(4_500);
    } finally {
      await ops.close();
      await store.close();
    }
  });

  it('serves turns in order, and skips one that stands still', () => {
    const turns = writeTurns(`turns-test-${randomUUID()}`);
    const endFirst = takeTurn(turns);
    endFirst();
    // A thread took the next ticket and ended before its turn came: nobody will end it.
    Atomics.add(turns, 0, 1);
    const asked = performance.now();
    const endThird = takeTurn(turns, 200);
    const waited = performance.now() - asked;
    expect(waited).toBeGreaterThanOrEqual(190);
    expect(waited).toBeLessThan(2_000);
    endThird();
    // And the next one is served at once.
    const again = performance.now();
    takeTurn(turns, 200)();
    expect(performance.now() - again).toBeLessThan(100);
  });
});
