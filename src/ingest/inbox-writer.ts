import type { Store } from '../store/index.js';
import { startThread, threadClient } from '../store/thread.js';
import { walRestartFlag } from '../store/wal-restart.js';
import { endTurnsOnExit, writeTurns } from '../store/write-turns.js';
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
  const turns = writeTurns(path);
  const thread = startThread(new URL('./sqlite-inbox-worker.js', import.meta.url), {
    path,
    restartFlag: walRestartFlag(path),
    turns,
  } satisfies InboxWorkerData);
  endTurnsOnExit(thread, turns);
  const writer = threadClient<InboxDelivery[]>(thread, 'inbox writer');
  return {
    write: (batch) => writer.request(batch) as Promise<AcceptedEvent[][]>,
    close: () => writer.close(),
  };
}
