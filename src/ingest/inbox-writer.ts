import { Worker } from 'node:worker_threads';
import type { Store } from '../store/index.js';
import { type AcceptedEvent, appendDeliveries, type InboxDelivery } from './inbox.js';
import type { InboxThreadData, WriteRequest, WriteResponse } from './sqlite-inbox-worker.js';

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
  const worker = startThread({ path, role: 'writer' });
  const checkpointer = startThread({ path, role: 'checkpointer' });
  checkpointer.unref();
  const waiting = new Map<
    number,
    { resolve: (result: AcceptedEvent[][]) => void; reject: (error: Error) => void }
  >();
  let nextId = 0;
  let failure: Error | undefined;

  const failAll = (error: Error) => {
    failure = error;
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
  };
  worker.on('message', (response: WriteResponse) => {
    const pending = waiting.get(response.id);
    waiting.delete(response.id);
    if (waiting.size === 0) worker.unref();
    if (response.ok) pending?.resolve(response.result as AcceptedEvent[][]);
    else pending?.reject(new Error(`inbox write failed: ${response.message}`));
  });
  worker.on('error', (error) =>
    failAll(new Error('the inbox writer thread failed', { cause: error })),
  );
  worker.on('exit', () => failAll(new Error('the inbox writer thread has stopped')));
  // An idle writer must not keep the process alive; one with writes under way must.
  worker.unref();

  return {
    write: (batch) =>
      new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        worker.ref();
        worker.postMessage({ id, batch } satisfies WriteRequest);
      }),
    close: async () => {
      await Promise.all([stopThread(checkpointer), failure ? undefined : stopThread(worker)]);
    },
  };
}

function stopThread(thread: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
  thread.postMessage('close');
  return exited;
}

function startThread(data: InboxThreadData): Worker {
  const options = { workerData: data };
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./sqlite-inbox-worker.js', import.meta.url), options);
  }
  // Running from the TypeScript sources (tests, tsx): load the worker through tsx as well.
  const entry = JSON.stringify(new URL('./sqlite-inbox-worker.ts', import.meta.url).href);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${entry}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
