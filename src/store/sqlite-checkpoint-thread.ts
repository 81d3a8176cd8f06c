// Copies the WAL back into the database file, so that no writer has to. Left to the writers
// (SQLite's autocheckpoint), that copy and its fsync land inside a commit every thousand pages
// and hold up a whole batch; the writer threads turn autocheckpoint off.
import { parentPort, workerData } from 'node:worker_threads';
import type { CheckpointThreadData } from './checkpointer.js';
import { openSqliteConnection } from './sqlite-connection.js';
import { askWalRestart } from './wal-restart.js';

/** How often committed WAL frames are copied into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;

const port = parentPort;
if (!port) throw new Error('sqlite-checkpoint-thread runs only as a worker thread');
const { path, restartAfterFrames, restartFlag } = workerData as CheckpointThreadData;
const connection = openSqliteConnection(path);

function checkpoint(): void {
  // PASSIVE never waits for a writer: it copies what is committed and leaves the rest.
  const [passive] = connection.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
  if (passive && passive.log > restartAfterFrames) {
    // Once more, to copy what was committed during the first: the writer that starts the WAL
    // over copies what is left, holding its batch up meanwhile (8-10 ms on average under
    // `bench:ingest`'s load, 13 ms without this pass).
    connection.pragma('wal_checkpoint(PASSIVE)');
    askWalRestart(restartFlag);
  }
}

const timer = setInterval(checkpoint, CHECKPOINT_INTERVAL_MS);
port.on('message', () => {
  clearInterval(timer);
  connection.close();
  port.close();
});
