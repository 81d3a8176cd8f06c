// Copies the WAL back into the database file, so that no writer has to. Left to the writers
// (SQLite's autocheckpoint), that copy and its fsync land inside a commit every thousand pages
// and hold up a whole batch; the writer threads turn autocheckpoint off.
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteConnection } from './sqlite-connection.js';

/** How often committed WAL frames are copied into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;

const port = parentPort;
if (!port) throw new Error('sqlite-checkpoint-thread runs only as a worker thread');
const connection = openSqliteConnection((workerData as { path: string }).path);
// PASSIVE never waits for a writer: it copies what is committed and leaves the rest.
const timer = setInterval(
  () => connection.pragma('wal_checkpoint(PASSIVE)'),
  CHECKPOINT_INTERVAL_MS,
);
port.on('message', () => {
  clearInterval(timer);
  connection.close();
  port.close();
});
