import { type Kysely, sql } from 'kysely';
import { type Database, type Dialect, preparedQuery } from '../store/index.js';
import {
  type AuditEntry,
  type AuditHead,
  type ChainedEntry,
  chainEntry,
  GENESIS_HASH,
} from './entry-hash.js';

/**
 * The PostgreSQL advisory lock that serialises appends from every gateway instance. Fixed, and
 * outside the int4 range on purpose: the per-record locks (`hashtext(record_key)`) are int4, so
 * they can never take this key. Advisory locks are per database, not per schema: tenants in
 * schemas of one database share it, which costs a little waiting and nothing else.
 */
export const AUDIT_CHAIN_LOCK_KEY = 0x41_75_64_69_74; // "Audit" in ASCII

/**
 * Appends `entry` to the audit chain in the caller's transaction, so the entry commits or rolls
 * back with the change it records. Returns the new head.
 *
 * `db` must be the transaction (the `trx` of `store.transaction`, or an op's `db`). On PostgreSQL
 * the append first takes a transaction-scoped advisory lock, held until the caller commits:
 * appends from all instances queue there, and the next one reads this entry once it is
 * committed. Append late in a transaction to hold the lock briefly. This relies on READ
 * COMMITTED (PostgreSQL's default): under REPEATABLE READ a transaction that read earlier would
 * still see the old head, and would fail on the seq primary key instead of forking the chain. On
 * SQLite the write transaction (`BEGIN IMMEDIATE`) already serialises writers.
 */
export async function appendAudit(
  db: Kysely<Database>,
  entry: AuditEntry,
  dialect: Dialect,
): Promise<AuditHead> {
  return appendAudits(db, [entry], dialect);
}

/**
 * `appendAudit` for several entries, in order: one lock, one read of the head, inserts of up to
 * 500 rows per statement (a batch of webhook events). Returns the new head.
 */
export async function appendAudits(
  db: Kysely<Database>,
  entries: readonly AuditEntry[],
  dialect: Dialect,
): Promise<AuditHead> {
  if (dialect === 'postgres') {
    // Outside a transaction the lock would be released after this statement, before the insert.
    if (!db.isTransaction) {
      throw new Error('appendAudit: call it with the transaction that makes the change');
    }
    await sql`select pg_advisory_xact_lock(${sql.lit(AUDIT_CHAIN_LOCK_KEY)})`.execute(db);
  }
  const carry = carried.get(db);
  let head: AuditHead | undefined = carry?.head ?? (await chainHead(db, {})).rows[0];
  const rows = entries.map((entry) => {
    const row = chainEntry(head, entry);
    head = { seq: row.seq, hash: row.hash };
    return row;
  });
  if (dialect === 'sqlite') {
    // A statement is a call here, not a round trip: one prepared insert per row.
    for (const row of rows) await insertEntry(db, row);
  } else {
    for (let start = 0; start < rows.length; start += 500) {
      await db
        .insertInto('audit_log')
        .values(rows.slice(start, start + 500))
        .execute();
    }
  }
  if (carry) carry.head = head;
  return head ?? { seq: 0, hash: GENESIS_HASH };
}

// Read once per transaction of the SQLite writer, which at moderate load commits every op or
// two. Built, compiled and prepared anew for each read, it cost about 75 µs a commit: a quarter
// of the writer's user CPU with two ops a commit.
const chainHead = preparedQuery((db) =>
  db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1),
);

const insertEntry = preparedQuery((db, row: ChainedEntry) =>
  db.insertInto('audit_log').values(row),
);

const carried = new WeakMap<Kysely<Database>, { head: AuditHead | undefined }>();

/**
 * Lets the appends made through `db` carry the chain's head from one to the next instead of each
 * reading it: for a writer that appends many times in one transaction, holding the only write
 * lock, as the SQLite writer thread does (a batch of ops, each appending once or twice). Every append
 * of such a transaction must go through this `db`. The head can move without these appends
 * (another writer between transactions; a rollback), so call `forget` at the start of every
 * transaction and after every rollback, to a savepoint too: the next append then reads it again.
 */
export function carryAuditHead(db: Kysely<Database>): { forget(): void } {
  const carry: { head: AuditHead | undefined } = { head: undefined };
  carried.set(db, carry);
  return {
    forget() {
      carry.head = undefined;
    },
  };
}
