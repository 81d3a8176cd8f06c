import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTestStores } from '../../test/helpers/stores.js';
import { THREAD_OPS_MODULE, threadOps } from '../../test/helpers/thread-ops.js';
import { WRITER_JOBS_MODULE } from '../../test/helpers/writer-jobs.js';
import type { InboxDelivery } from '../ingest/inbox.js';
import { createInboxWriter } from '../ingest/inbox-writer.js';
import { createOpRunner } from './op-runner.js';
import { sqliteFile } from './open-store.js';
import { openSqliteConnection } from './sqlite-connection.js';
import { sqliteWriter, writerJob } from './sqlite-writer.js';
import type { Store } from './store.js';
import { askWalRestart, walRestartFlag } from './wal-restart.js';

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
  const { open, closedAfter } = useTestStores('sqlite');

  /** A migrated SQLite store, with its file's path. */
  async function openStore(): Promise<{ store: Store; path: string }> {
    const store = await open();
    return { store, path: sqliteFile(store) };
  }
  const inboxOf = (store: Store) => closedAfter(createInboxWriter(store));
  const opsOf = (store: Store) => closedAfter(createOpRunner(store, threadOps, THREAD_OPS_MODULE));
  const writerOf = (path: string) => closedAfter(sqliteWriter(path), (each) => each.release());

  it("runs the op runner's batches between the inbox's while it commits batch after batch", async () => {
    const { store } = await openStore();
    const inbox = inboxOf(store);
    const ops = opsOf(store);
    let ingesting = true;
    let inboxBatches = 0;
    // Two batches of 200 events always in flight, as a steady stream of webhooks makes them.
    const ingest = async () => {
      while (ingesting) {
        await inbox.write(deliveries(200));
        inboxBatches += 1;
      }
    };
    const streams = [ingest(), ingest()];
    try {
      await ops.run('one', undefined);
      const before = inboxBatches;
      const waits: number[] = [];
      for (let op = 0; op < 40; op += 1) {
        const started = performance.now();
        await ops.run('audit', 'between batches');
        waits.push(performance.now() - started);
      }
      waits.sort((a, b) => a - b);
      // The inbox went on committing meanwhile, and each op waited for at most about one of
      // its batches. With a writer thread each, left to SQLite's busy handler, the op's writer
      // slept while the inbox's took the lock again: the slowest op waited 0.9-4.4 s, or failed
      // after 5 s with "database is locked".
      expect(inboxBatches - before).toBeGreaterThan(10);
      expect(waits.at(-1)).toBeLessThan(500);
    } finally {
      ingesting = false;
      await Promise.all(streams);
    }
  });

  it('starts another thread for both after an op ended the last one, failing only the batch it held', async () => {
    const { store } = await openStore();
    const inbox = inboxOf(store);
    const ops = opsOf(store);
    expect(await inbox.write(deliveries(1))).toHaveLength(1);
    // The thread ends inside the op's batch, as an out-of-memory kill of its isolate would.
    await expect(ops.run('exit', undefined)).rejects.toThrow(/thread/);
    const [accepted] = await inbox.write(deliveries(1));
    expect(accepted?.[0]?.duplicate).toBe(false);
    expect(await ops.run('audit', 'after the restart')).toBeGreaterThan(0);
  });

  it('keeps writing for the inbox after the op runner is closed', async () => {
    const { store } = await openStore();
    const inbox = inboxOf(store);
    const ops = opsOf(store);
    expect(await ops.run('one', undefined)).toBe(1);
    await ops.close();
    await expect(ops.run('one', undefined)).rejects.toThrow(/released/);
    expect(await inbox.write(deliveries(3))).toHaveLength(3);
    const stored = await store.db.selectFrom('events').select('id').execute();
    expect(stored).toHaveLength(3);
  });

  it('is one thread for a file however its path is written', async () => {
    const { path } = await openStore();
    const written = [path, relative(process.cwd(), path), `${dirname(path)}/./${basename(path)}`];
    const writers = written.map(writerOf);
    const job = writerJob(WRITER_JOBS_MODULE, 'whichThread');
    const threads = await Promise.all(writers.map((writer) => writer.run(job, null)));
    expect(new Set(threads).size).toBe(1);
    expect(threads[0]).toBeGreaterThan(0);
  });

  it('starts a job again after it failed to start', async () => {
    const { path } = await openStore();
    const writer = writerOf(path);
    const job = writerJob(WRITER_JOBS_MODULE, 'failsToStartOnce');
    await expect(writer.run(job, null)).rejects.toThrow(/could not start this time/);
    expect(await writer.run(job, null)).toBe('ran');
  });

  it('fails a batch that left its transaction open, and commits the next batch for real', async () => {
    const { store, path } = await openStore();
    const writer = writerOf(path);
    const inbox = inboxOf(store);
    await expect(writer.run(writerJob(WRITER_JOBS_MODULE, 'leaveOpen'), null)).rejects.toThrow(
      /left its transaction open/,
    );
    // Inside the open transaction, this batch would be a savepoint, answered but never committed.
    expect(await inbox.write(deliveries(2))).toHaveLength(2);
    const reader = closedAfter(openSqliteConnection(path), (each) => each.close());
    const stored = reader.prepare('select count(*) as n from events').get() as { n: number };
    expect(stored.n).toBe(2);
    const leftover = reader
      .prepare("select count(*) as n from sqlite_master where name = 'leftover'")
      .get() as { n: number };
    expect(leftover.n).toBe(0);
  });

  it('starts the WAL over again after a writer thread died in the middle of a restart', async () => {
    const { store, path } = await openStore();
    const writer = writerOf(path);
    const ops = opsOf(store);
    const flag = walRestartFlag(path);
    // The WAL header's checkpoint sequence number, one up each time the WAL starts over.
    const walStarts = () => readFileSync(`${path}-wal`).readUInt32BE(12);
    await writer.run(writerJob(WRITER_JOBS_MODULE, 'dieInRestart'), null);
    askWalRestart(flag);
    // The restart after this batch ends the thread.
    await expect(ops.run('fill', 8192)).rejects.toThrow(/thread/);
    await ops.run('fill', 8192);
    const before = walStarts();
    // Asked again, the new thread starts the WAL over after its next batch, and the write
    // after that starts it anew. Nothing else checkpoints in this test.
    askWalRestart(flag);
    await ops.run('fill', 8192);
    await ops.run('fill', 8192);
    expect(walStarts()).toBe(before + 1);
  });
});
