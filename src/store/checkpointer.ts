import { sqliteFile } from './open-store.js';
import type { Store } from './store.js';
import { startThread, stopThread } from './thread.js';
import { type WalRestartFlag, walRestartFlag } from './wal-restart.js';

export interface CheckpointerOptions {
  /**
   * The WAL's length in frames (pages) past which the writer thread is asked to start it over
   * (wal-restart.ts): 16,384, 64 MB of 4 KB pages, unless a test needs it small.
   */
  readonly restartAfterFrames?: number;
}

/** What the checkpoint thread is started with. */
export interface CheckpointThreadData {
  readonly path: string;
  readonly restartAfterFrames: number;
  readonly restartFlag: WalRestartFlag;
}

const RESTART_AFTER_FRAMES = 16_384;

/**
 * For a SQLite store, a thread that checkpoints its WAL every 100 ms and asks the writer thread
 * to start it over once it is long (see wal-restart.ts); the writer thread leaves the copying to
 * it. Nothing for PostgreSQL. Resolves the returned stop when the thread has ended.
 */
export function startCheckpointer(
  store: Store,
  options: CheckpointerOptions = {},
): () => Promise<void> {
  if (store.dialect !== 'sqlite') return async () => {};
  const path = sqliteFile(store);
  const data: CheckpointThreadData = {
    path,
    restartAfterFrames: options.restartAfterFrames ?? RESTART_AFTER_FRAMES,
    restartFlag: walRestartFlag(path),
  };
  const thread = startThread(new URL('./sqlite-checkpoint-thread.js', import.meta.url), data);
  thread.unref();
  return () => stopThread(thread);
}
