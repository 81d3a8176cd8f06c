// The op runner's job in the SQLite writer thread (see op-runner.ts and sqlite-writer.ts): a
// batch of ops in one transaction, each in a savepoint, one commit at the end.
import type { Database as SqliteDatabase } from 'better-sqlite3';
import { carryAuditHead } from '../audit/append-audit.js';
import { AppError } from '../errors.js';
import type { OpTable, WireOp } from './op-runner.js';
import { sqliteKysely } from './sqlite-kysely.js';
import type { WriterJobRunner } from './sqlite-writer.js';

/** Where the op table is: `export const <name>` of the module at the URL `module`. */
export interface OpTableHref {
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

/** The `WriterJobFactory` of the ops of the table `options` names. */
export async function opBatches(
  connection: SqliteDatabase,
  options: unknown,
): Promise<WriterJobRunner> {
  const { module, name } = options as OpTableHref;
  const table = (await import(module))[name] as OpTable;
  // Ops run one after the other, on a connection nothing else in the thread uses.
  const db = sqliteKysely(connection, { sequential: true });
  // The batch holds the write lock: its ops' audit appends read the chain's head once.
  const auditHead = carryAuditHead(db);

  return async (batch) => {
    const outcomes: WireOutcome[] = [];
    connection.exec('BEGIN IMMEDIATE');
    auditHead.forget();
    try {
      for (const { op, args } of batch as WireOp[]) {
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
  };
}

function toWire(error: unknown): Extract<WireOutcome, { ok: false }>['error'] {
  if (error instanceof AppError) {
    const { code, status, message, details } = error;
    return { code, status, message, details: { ...details } };
  }
  return { message: error instanceof Error ? error.message : String(error) };
}
