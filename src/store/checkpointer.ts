import type { Store } from './store.js';
import { startThread, stopThread } from './thread.js';

/**
 * For a SQLite store, a thread that checkpoints its WAL every 100 ms (see
 * sqlite-checkpoint-thread.ts); the writer threads leave checkpoints to it. Nothing for
 * PostgreSQL. Resolves the returned stop when the thread has ended.
 */
export function startCheckpointer(store: Store): () => Promise<void> {
  if (store.dialect !== 'sqlite') return async () => {};
  const thread = startThread(new URL('./sqlite-checkpoint-thread.js', import.meta.url), {
    path: store.url.slice('sqlite:'.length),
  });
  thread.unref();
  return () => stopThread(thread);
}
