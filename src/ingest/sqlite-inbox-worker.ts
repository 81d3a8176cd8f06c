// The writer thread of the SQLite inbox. better-sqlite3 is synchronous: a commit, fsync
// included, would stop the gateway's event loop. This thread takes that stop instead, so the
// main thread keeps verifying the next batch of requests while one is made durable.
import { parentPort, workerData } from 'node:worker_threads';
// The leaf modules, not store/index.ts: each thread is an isolate of its own, and Kysely and pg
// loaded there for nothing cost every thread megabytes.
import { serveRequests } from '../store/thread.js';
import { openWriterConnection, type WriterShared, writeInTurn } from '../store/writer-thread.js';
import type { InboxDelivery } from './inbox.js';
import { createSqliteAppender } from './sqlite-inbox.js';

export interface InboxWorkerData extends WriterShared {
  readonly path: string;
}

const port = parentPort;
if (!port) throw new Error('sqlite-inbox-worker runs only as a worker thread');
const data = workerData as InboxWorkerData;
const connection = openWriterConnection(data.path);
const append = createSqliteAppender(connection);
serveRequests<InboxDelivery[]>(
  port,
  // Buffers arrive as Uint8Arrays after the structured clone.
  (batch) => {
    const deliveries = batch.map((delivery) => ({ ...delivery, body: Buffer.from(delivery.body) }));
    return writeInTurn(connection, data, () => append(deliveries));
  },
  () => connection.close(),
);
