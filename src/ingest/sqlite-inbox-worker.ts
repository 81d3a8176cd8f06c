// Threads of the SQLite inbox. better-sqlite3 is synchronous: a commit, fsync included, would
// stop the gateway's event loop. The writer thread takes that stop instead, so the main thread
// keeps verifying the next batch of requests while one is made durable. The checkpointer thread
// copies the WAL back into the database file; left to the writer (SQLite's autocheckpoint), that
// copy and its fsync land inside a commit every thousand pages and hold up a whole batch.
import { parentPort, workerData } from 'node:worker_threads';
// The leaf module, not store/index.ts: each thread is an isolate of its own, and Kysely and pg
// loaded there for nothing cost every thread megabytes.
import { openSqliteConnection } from '../store/sqlite-connection.js';
import { serveRequests } from '../store/thread.js';
import type { InboxDelivery } from './inbox.js';
import { createSqliteAppender } from './sqlite-inbox.js';

export interface InboxThreadData {
  readonly path: string;
  readonly role: 'writer' | 'checkpointer';
}

/** How often the checkpointer copies committed WAL frames into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;

const port = parentPort;
if (!port) throw new Error('sqlite-inbox-worker runs only as a worker thread');
const { path, role } = workerData as InboxThreadData;
const connection = openSqliteConnection(path);

if (role === 'checkpointer') {
  // PASSIVE never waits for the writer: it copies what is committed and leaves the rest.
  const timer = setInterval(
    () => connection.pragma('wal_checkpoint(PASSIVE)'),
    CHECKPOINT_INTERVAL_MS,
  );
  port.on('message', () => {
    clearInterval(timer);
    connection.close();
    port.close();
  });
} else {
  connection.pragma('wal_autocheckpoint = 0');
  const append = createSqliteAppender(connection);
  serveRequests<InboxDelivery[]>(
    port,
    // Buffers arrive as Uint8Arrays after the structured clone.
    (batch) => append(batch.map((delivery) => ({ ...delivery, body: Buffer.from(delivery.body) }))),
    () => connection.close(),
  );
}
