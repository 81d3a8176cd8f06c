import type { Database as SqliteConnection } from 'better-sqlite3';
import { type AuditEntry, type AuditHead, chainEntry, GENESIS_HASH } from './entry-hash.js';

/**
 * `appendAudit` for code that writes SQLite through better-sqlite3 prepared statements (the inbox
 * writer thread): the same rows, one chain with the Kysely appender. Call the returned function
 * inside the caller's open transaction (`connection.transaction(fn).immediate()`), so the entry
 * commits with the change it records and no other writer extends the chain in between.
 */
export function createSqliteAuditAppender(
  connection: SqliteConnection,
): (...entries: AuditEntry[]) => AuditHead {
  const readHead = connection.prepare<[], AuditHead>(
    'select seq, hash from audit_log order by seq desc limit 1',
  );
  const insert = connection.prepare<
    [number, number, string, string, string, string, string, string]
  >(
    `insert into audit_log (seq, at, kind, subject, change, data, prev_hash, hash)
     values (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // Several entries at once read the head once (a batch of webhook events).
  return (...entries) => {
    // Outside a transaction another writer could append between the read and the insert.
    if (!connection.inTransaction) {
      throw new Error('audit appender: call it inside the transaction that makes the change');
    }
    let head = readHead.get();
    for (const entry of entries) {
      const row = chainEntry(head, entry);
      insert.run(
        row.seq,
        row.at,
        row.kind,
        row.subject,
        row.change,
        row.data,
        row.prev_hash,
        row.hash,
      );
      head = { seq: row.seq, hash: row.hash };
    }
    return head ?? { seq: 0, hash: GENESIS_HASH };
  };
}
