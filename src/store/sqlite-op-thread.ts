// The writer thread of an op table on SQLite (see op-runner.ts). better-sqlite3 is synchronous:
// here a commit's fsync stops only this thread, and a batch of ops shares one commit.

import { parentPort, workerData } from 'node:worker_threads';
import { Kysely, SqliteDialect } from 'kysely';
import { carryAuditHead } from '../audit/append-audit.js';
import { AppError } from '../errors.js';
import type { OpTable, WireOp } from './op-runner.js';
import type { Database } from './schema.js';
import { withStatementCache } from './sqlite-connection.js';
import { serveRequests } from './thread.js';
import { openWriterConnection, type WriterShared, writeInTurn } from './writer-thread.js';

export interface OpThreadData extends WriterShared {
  readonly path: string;
  /** The URL of the module that exports the op table, and the export's name. */
  readonly module: string;
  readonly name: string;
}

/** An op's result or error, as it crosses back: AppErrors keep their code, status and details. */
export type WireOutcome =
  | { readonly ok: true; readonly value: unknown }
  | {
      readonly ok: false;
      readonly error: {
        readonly message: string;
        readonly code?: string;
        readonly status?: number;
        readonly details?: Record<string, unknown>;
      };
    };

const port = parentPort;
if (!port) throw new Error('sqlite-op-thread runs only as a worker thread');
const data = workerData as OpThreadData;
const { path, module, name } = data;
const connection = openWriterConnection(path);
const db = new Kysely<Database>({
  dialect: new SqliteDialect({ database: withStatementCache(connection) }),
});
const table = (await import(module))[name] as OpTable;
// The batch holds the write lock: its ops' audit appends read the chain's head once.
const auditHead = carryAuditHead(db);

/**
 * Runs a batch in one transaction, each op in a savepoint; commits once at the end. Waits for
 * its turn at the write lock first (writer-thread.ts).
 */
function runBatch(batch: WireOp[]): Promise<WireOutcome[]> {
  return writeInTurn(connection, data, () => commitBatch(batch));
}

async function commitBatch(batch: WireOp[]): Promise<WireOutcome[]> {
  const outcomes: WireOutcome[] = [];
  connection.exec('BEGIN IMMEDIATE');
  auditHead.forget();
  try {
    for (const { op, args } of batch) {
      connection.exec('SAVEPOINT op');
      try {
        const fn = table[op];
        if (!fn) throw new Error(`no op ${op} in ${name}`);
        outcomes.push({ ok: true, value: await fn(db, args) });
        connection.exec('RELEASE op');
      } catch (error) {
        connection.exec('ROLLBACK TO op');
        connection.exec('RELEASE op');
        auditHead.forget();
        outcomes.push({ ok: false, error: toWire(error) });
      }
    }
    connection.exec('COMMIT');
  } catch (error) {
    if (connection.inTransaction) connection.exec('ROLLBACK');
    throw error;
  }
  return outcomes;
}

function toWire(error: unknown): Extract<WireOutcome, { ok: false }>['error'] {
  if (error instanceof AppError) {
    const { code, status, message, details } = error;
    return { code, status, message, details: { ...details } };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}

serveRequests<WireOp[]>(port, runBatch, () => connection.close());
