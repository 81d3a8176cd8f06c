// Copies the WAL back into the database file, so that no writer has to. Left to the writers
// (SQLite's autocheckpoint), that copy and its fsync land inside a commit every thousand pages
// and hold up a whole batch; the writer thread turns autocheckpoint off.
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointThreadData } from './checkpointer.js';
import { openSqliteConnection } from './sqlite-connection.js';
import { askWalRestart, restartsGivenUp } from './wal-restart.js';

/** How often committed WAL frames are copied into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;

const port = parentPort;
if (!port) throw new Error('sqlite-checkpoint-thread runs only as a worker thread');
const { path, restartAfterFrames, restartFlag } = workerData as CheckpointThreadData;
const connection = openSqliteConnection(path);

/** The longest wait before a restart is asked for again after restarts that gave up. */
const MAX_BACKOFF_MS = 3_200;
/** When the last restart was asked for (`performance.now()`). */
let askedAt = 0;

function checkpoint(): void {
  // PASSIVE never waits for a writer: it copies what is committed and leaves the rest.
  const [passive] = connection.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
  if (!passive || passive.log <= restartAfterFrames) return;
  // After restarts that gave up waiting for a long read (each held the writes back a little),
  // ask again later and later while it lasts: 100 ms, 200 ms, … 3.2 s.
  const gaveUp = restartsGivenUp(restartFlag);
  const backoffMs =
    gaveUp === 0 ? 0 : Math.min(CHECKPOINT_INTERVAL_MS * 2 ** (gaveUp - 1), MAX_BACKOFF_MS);
  if (performance.now() < askedAt + backoffMs) return;
  // Once more, to copy what was committed during the first: the writer that starts the WAL
  // over copies what is left, holding its batch up meanwhile (8-10 ms on average under
  // `bench:ingest`'s load, 13 ms without this pass).
  connection.pragma('wal_checkpoint(PASSIVE)');
  askWalRestart(restartFlag);
  askedAt = performance.now();
}

const timer = setInterval(checkpoint, CHECKPOINT_INTERVAL_MS);
port.on('message', () => {
  clearInterval(timer);
  connection.close();
  port.close();
});
