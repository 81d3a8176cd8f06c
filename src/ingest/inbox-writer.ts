import { type Store, sqliteFile, sqliteWriter, writerJob } from '../store/index.js';
import { type AcceptedEvent, appendDeliveries, type InboxDelivery } from './inbox.js';

/** Commits batches of deliveries to the inbox; see `appendDeliveries` for what it answers. */
export interface InboxWriter {
  write(batch: InboxDelivery[]): Promise<AcceptedEvent[][]>;
  close(): Promise<void>;
}

/**
 * The inbox writer for a store. PostgreSQL commits asynchronously on the store's pool. SQLite
 * commits in the file's writer thread (sqlite-writer.ts), so a commit's fsync does not stop the
 * event loop; it leaves WAL checkpoints to `startCheckpointer`.
 */
export function createInboxWriter(store: Store): InboxWriter {
  if (store.dialect === 'postgres') {
    return { write: (batch) => appendDeliveries(store, batch), close: async () => {} };
  }
  const writer = sqliteWriter(sqliteFile(store));
  const job = writerJob(new URL('./sqlite-inbox.js', import.meta.url), 'inboxBatches');
  return {
    write: (batch) => writer.run(job, batch) as Promise<AcceptedEvent[][]>,
    close: () => writer.release(),
  };
}
