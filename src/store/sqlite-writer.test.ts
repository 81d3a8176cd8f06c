import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/stores.js';
import { THREAD_OPS_MODULE, threadOps } from '../../test/helpers/thread-ops.js';
import type { InboxDelivery } from '../ingest/inbox.js';
import { createInboxWriter } from '../ingest/inbox-writer.js';
import { createOpRunner } from './op-runner.js';

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

describe("a SQLite file's writer thread, shared by the inbox and the op runner", {
  timeout: 30_000,
}, () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
  });

  it("runs the op runner's batches between the inbox's while it commits batch after batch", async () => {
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
      // Each op waits for at most about one inbox batch. With a writer thread each, left to
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

  it('starts another thread for both after an op ended the last one, failing only the batch it held', async () => {
    database = createTestDatabase('sqlite');
    const store = await database.open();
    const inbox = createInboxWriter(store);
    const ops = createOpRunner(store, threadOps, THREAD_OPS_MODULE);
    try {
      expect(await inbox.write(deliveries(1))).toHaveLength(1);
      // The thread ends inside the op's batch, as an out-of-memory kill of its isolate would.
      await expect(ops.run('exit', undefined)).rejects.toThrow(/thread/);
      const [accepted] = await inbox.write(deliveries(1));
      expect(accepted?.[0]?.duplicate).toBe(false);
      expect(await ops.run('audit', 'after the restart')).toBeGreaterThan(0);
    } finally {
      await ops.close();
      await inbox.close();
      await store.close();
    }
  });

  it('keeps writing for the inbox after the op runner is closed', async () => {
    database = createTestDatabase('sqlite');
    const store = await database.open();
    const inbox = createInboxWriter(store);
    const ops = createOpRunner(store, threadOps, THREAD_OPS_MODULE);
    try {
      expect(await ops.run('one', undefined)).toBe(1);
      await ops.close();
      await expect(ops.run('one', undefined)).rejects.toThrow(/released/);
      const batch = deliveries(3);
      expect(await inbox.write(batch)).toHaveLength(3);
      const stored = await store.db.selectFrom('events').select('id').execute();
      expect(stored).toHaveLength(3);
    } finally {
      await inbox.close();
      await store.close();
    }
  });
});
