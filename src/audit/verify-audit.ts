import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { type AuditHead, GENESIS_HASH, hashEntry } from './entry-hash.js';
import { readAudit } from './read-audit.js';

/**
 * What is wrong at the first bad entry:
 * - `changed`: the row's hash does not match its contents;
 * - `deleted`: its seq is missing (a gap, the log does not start at 1 from the genesis hash, or
 *   the log ends before a recorded head);
 * - `reordered`: it does not link to the entry before it (moved, or relinked after a rewrite).
 */
export type AuditProblem = 'changed' | 'deleted' | 'reordered';

export type AuditVerification =
  | { readonly ok: true; readonly checked: number; readonly head: AuditHead }
  | {
      readonly ok: false;
      /** Entries found intact before the bad one. */
      readonly checked: number;
      /** The first bad (or missing) entry. */
      readonly seq: number;
      readonly problem: AuditProblem;
      /** One line for an operator. */
      readonly detail: string;
    };

export interface VerifyAuditOptions {
  /**
   * A head recorded earlier (printed by `airlock audit verify`). The chain alone cannot show
   * that its tail was cut off or rewritten with fresh hashes; the recorded head can.
   */
  readonly head?: AuditHead;
  /** Rows per query. Default 500. */
  readonly pageSize?: number;
}

/** Walks the log by seq and reports the first entry that was changed, deleted or reordered. */
export async function verifyAudit(
  db: Kysely<Database>,
  options: VerifyAuditOptions = {},
): Promise<AuditVerification> {
  let previous: AuditHead = { seq: 0, hash: GENESIS_HASH };
  let checked = 0;
  const broken = (seq: number, problem: AuditProblem, detail: string): AuditVerification => ({
    ok: false,
    checked,
    seq,
    problem,
    detail,
  });

  let hashAtHead = options.head?.seq === 0 ? GENESIS_HASH : undefined;
  for await (const row of readAudit(db, { pageSize: options.pageSize })) {
    const expected = previous.seq + 1;
    if (row.seq > expected) {
      return broken(
        expected,
        'deleted',
        expected === 1
          ? `the log starts at entry ${row.seq}`
          : `missing; entry ${previous.seq} is followed by ${row.seq}`,
      );
    }
    if (row.seq !== expected) {
      return broken(row.seq, 'reordered', `entry ${row.seq} is out of sequence`);
    }
    if (row.prev_hash !== previous.hash) {
      return row.seq === 1
        ? broken(1, 'deleted', 'entry 1 does not start from the genesis hash: entries were cut')
        : broken(
            row.seq,
            'reordered',
            `does not link to entry ${previous.seq}: moved, or entry ${previous.seq} was rewritten`,
          );
    }
    if (hashEntry(row.prev_hash, row) !== row.hash) {
      return broken(row.seq, 'changed', 'its hash does not match its contents');
    }
    if (row.seq === options.head?.seq) hashAtHead = row.hash;
    previous = { seq: row.seq, hash: row.hash };
    checked += 1;
  }

  const head = options.head;
  if (head && head.seq > previous.seq) {
    return broken(
      previous.seq + 1,
      'deleted',
      `the log ends at entry ${previous.seq}, before the recorded head ${head.seq}`,
    );
  }
  if (head && hashAtHead !== head.hash) {
    // What is counted is what comes before the entry named.
    checked = head.seq - 1;
    return broken(
      head.seq,
      'changed',
      'does not match the recorded head: the log was rewritten from here or earlier',
    );
  }
  return { ok: true, checked, head: previous };
}
