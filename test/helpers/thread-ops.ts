// Store ops for testing the op runner itself; run in its writer thread.
import { type Kysely, sql } from 'kysely';
import { appendAudit } from '../../src/audit/index.js';
import type { Database } from '../../src/store/index.js';

const tested = (db: Kysely<Database>, subject: string) =>
  appendAudit(db, { kind: 'action', subject, change: 'tested' }, 'sqlite');

export const threadOps = {
  one: async () => 1,
  /** Ends the writer thread, as an out-of-memory kill of its isolate would. */
  exit: async () => {
    process.exit(3);
  },
  /** Appends an audit entry for `subject`. */
  audit: async (db: Kysely<Database>, subject: string) => (await tested(db, subject)).seq,
  /** Writes a row of `bytes` bytes to a table of its own. */
  fill: async (db: Kysely<Database>, bytes: number) => {
    await sql`create table if not exists filler (id integer primary key, body blob)`.execute(db);
    await sql`insert into filler (body) values (${Buffer.alloc(bytes, 7)})`.execute(db);
  },
  /** Appends an audit entry, then fails: the op's savepoint takes the entry back. */
  auditThenFail: async (db: Kysely<Database>, subject: string) => {
    await tested(db, subject);
    throw new Error(`${subject} failed after its append`);
  },
};

export const THREAD_OPS_MODULE = {
  module: new URL('./thread-ops.js', import.meta.url),
  name: 'threadOps',
};
