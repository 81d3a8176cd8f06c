import type { Kysely } from 'kysely';
import type { AuditKind, Database } from '../store/index.js';
import { type AuditRow, readAudit } from './read-audit.js';

/** One exported entry: a JSON line. */
export interface AuditLine {
  readonly seq: number;
  /** Epoch ms, the value the hash covers. */
  readonly at: number;
  /** `at` as an ISO date-time, for people. */
  readonly time: string;
  readonly kind: AuditKind;
  readonly subject: string;
  readonly change: string;
  readonly data: unknown;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * The entries with `at` at or after `sinceMs` (epoch ms), oldest first, each as one line of JSON
 * (an `AuditLine`, without the newline). Read a page at a time: a long log streams.
 */
export async function* exportAudit(
  db: Kysely<Database>,
  sinceMs: number,
  options: { readonly pageSize?: number } = {},
): AsyncGenerator<string> {
  for await (const row of readAudit(db, { sinceMs, pageSize: options.pageSize })) {
    yield JSON.stringify(toAuditLine(row));
  }
}

function toAuditLine(row: AuditRow): AuditLine {
  let data: unknown;
  try {
    data = JSON.parse(row.data);
  } catch (error) {
    throw new Error(`audit entry ${row.seq}: data is not JSON; run airlock audit verify`, {
      cause: error,
    });
  }
  return {
    seq: row.seq,
    at: row.at,
    time: new Date(row.at).toISOString(),
    kind: row.kind,
    subject: row.subject,
    change: row.change,
    data,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
