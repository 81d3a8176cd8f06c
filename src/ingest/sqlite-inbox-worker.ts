// The writer thread of the SQLite inbox. better-sqlite3 is synchronous: a commit, fsync
// included, would stop the gateway's event loop. This thread takes that stop instead, so the
// main thread keeps verifying the next batch of requests while one is made durable.
import { parentPort, workerData } from 'node:worker_threads';
// The leaf modules, not store/index.ts: each thread is an isolate of its own, and Kysely and pg
// loaded there for nothing cost every thread megabytes.
import { openSqliteConnection } from '../store/sqlite-connection.js';
import { serveRequests } from '../store/thread.js';
import { restartWalIfAsked, type WalRestartFlag } from '../store/wal-restart.js';
import { takeTurn, type WriteTurns } from '../store/write-turns.js';
import type { InboxDelivery } from './inbox.js';
import { createSqliteAppender } from './sqlite-inbox.js';

export interface InboxWorkerData {
  readonly path: string;
  readonly restartFlag: WalRestartFlag;
  readonly turns: WriteTurns;
}

const port = parentPort;
if (!port) throw new Error('sqlite-inbox-worker runs only as a worker thread');
const { path, restartFlag, turns } = workerData as InboxWorkerData;
const connection = openSqliteConnection(path);
// Checkpoints are the checkpointer thread's (store/checkpointer.ts).
connection.pragma('wal_autocheckpoint = 0');
const append = createSqliteAppender(connection);
serveRequests<InboxDelivery[]>(
  port,
  // Buffers arrive as Uint8Arrays after the structured clone.
  (batch) => {
    const deliveries = batch.map((delivery) => ({ ...delivery, body: Buffer.from(delivery.body) }));
    const endTurn = takeTurn(turns);
    try {
      const accepted = append(deliveries);
      restartWalIfAsked(connection, restartFlag);
      return accepted;
    } finally {
      endTurn();
    }
  },
  () => connection.close(),
);
