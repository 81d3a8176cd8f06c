import type { Store } from '../store/index.js';
import { threadClient } from '../store/thread.js';
import { startWriterThread, writerShared } from '../store/writer-thread.js';
import { type AcceptedEvent, appendDeliveries, type InboxDelivery } from './inbox.js';
import type { InboxWorkerData } from './sqlite-inbox-worker.js';

/** Commits batches of deliveries to the inbox; see `appendDeliveries` for what it answers. */
export interface InboxWriter {
  write(batch: InboxDelivery[]): Promise<AcceptedEvent[][]>;
  close(): Promise<void>;
}

/**
 * The inbox writer for a store. PostgreSQL commits asynchronously on the store's pool. SQLite
 * commits on its own connection in a worker thread, so a commit's fsync does not stop the event
 * loop (see sqlite-inbox-worker.ts); it leaves WAL checkpoints to `startCheckpointer`.
 */
export function createInboxWriter(store: Store): InboxWriter {
  if (store.dialect === 'postgres') {
    return { write: (batch) => appendDeliveries(store, batch), close: async () => {} };
  }
  return createWorkerWriter(store.url.slice('sqlite:'.length));
}

function createWorkerWriter(path: string): InboxWriter {
  const data: InboxWorkerData = { path, ...writerShared(path) };
  const writer = threadClient<InboxDelivery[]>(
    startWriterThread(new URL('./sqlite-inbox-worker.js', import.meta.url), data),
    'inbox writer',
  );
  return {
    write: (batch) => writer.request(batch) as Promise<AcceptedEvent[][]>,
    close: () => writer.close(),
  };
}
