import type { Store } from '../store/index.js';
import { startThread, stopThread, threadClient } from '../store/thread.js';
import { type AcceptedEvent, appendDeliveries, type InboxDelivery } from './inbox.js';
import type { InboxThreadData } from './sqlite-inbox-worker.js';

/** Commits batches of deliveries to the inbox; see `appendDeliveries` for what it answers. */
export interface InboxWriter {
  write(batch: InboxDelivery[]): Promise<AcceptedEvent[][]>;
  close(): Promise<void>;
}

/**
 * The inbox writer for a store. PostgreSQL commits asynchronously on the store's pool. SQLite
 * commits on its own connection in a worker thread, so a commit's fsync does not stop the event
 * loop, and checkpoints its WAL from a second thread (see sqlite-inbox-worker.ts).
 */
export function createInboxWriter(store: Store): InboxWriter {
  if (store.dialect === 'postgres') {
    return { write: (batch) => appendDeliveries(store, batch), close: async () => {} };
  }
  return createWorkerWriter(store.url.slice('sqlite:'.length));
}

function createWorkerWriter(path: string): InboxWriter {
  const entry = new URL('./sqlite-inbox-worker.js', import.meta.url);
  const writer = threadClient<InboxDelivery[]>(
    startThread(entry, { path, role: 'writer' } satisfies InboxThreadData),
    'inbox writer',
  );
  const checkpointer = startThread(entry, { path, role: 'checkpointer' } satisfies InboxThreadData);
  checkpointer.unref();
  return {
    write: (batch) => writer.request(batch) as Promise<AcceptedEvent[][]>,
    close: async () => {
      await Promise.all([stopThread(checkpointer), writer.close()]);
    },
  };
}
