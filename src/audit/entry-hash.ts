import { hash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import type { AuditKind } from '../store/index.js';

/** The `prev_hash` of entry 1. */
export const GENESIS_HASH = '0'.repeat(64);

/** The end of the chain: its last entry, or `{ seq: 0, hash: GENESIS_HASH }` while empty. */
export interface AuditHead {
  readonly seq: number;
  readonly hash: string;
}

/** A state change to record. */
export interface AuditEntry {
  readonly kind: AuditKind;
  /** The id of the event, action, approval or execution. */
  readonly subject: string;
  /** A short verb: `received`, `accepted`, `approved`, `executed`… */
  readonly change: string;
  /** Details worth keeping; stored as canonical JSON. Default `{}`. */
  readonly data?: Readonly<Record<string, unknown>>;
  /** Epoch milliseconds. Default now. */
  readonly at?: number;
}

/** The stored columns an entry's hash covers; `data` is the JSON text exactly as stored. */
export interface HashedFields {
  readonly seq: number;
  readonly at: number;
  readonly kind: string;
  readonly subject: string;
  readonly change: string;
  readonly data: string;
}

/** A row ready to insert into `audit_log`. */
export interface ChainedEntry extends HashedFields {
  readonly kind: AuditKind;
  readonly prev_hash: string;
  readonly hash: string;
}

/**
 * The entry's canonical form: `{"at":…,"change":…,"data":…,"kind":…,"seq":…,"subject":…}` with
 * the data text put in verbatim, so that any change to the stored bytes changes the hash. For
 * data written by `canonicalJson` it equals `canonicalJson` of the entry with its data parsed,
 * which is how a reader of an export can check the hashes without this code.
 */
export function canonicalEntry(fields: HashedFields): string {
  return (
    `{"at":${JSON.stringify(fields.at)},"change":${JSON.stringify(fields.change)},` +
    `"data":${fields.data},"kind":${JSON.stringify(fields.kind)},` +
    `"seq":${JSON.stringify(fields.seq)},"subject":${JSON.stringify(fields.subject)}}`
  );
}

/** SHA-256 hex of `prevHash`, a newline, and the entry's canonical form. */
export function hashEntry(prevHash: string, fields: HashedFields): string {
  return hash('sha256', `${prevHash}\n${canonicalEntry(fields)}`);
}

/** The row that appends `entry` after `last` (undefined: the chain is empty). */
export function chainEntry(last: AuditHead | undefined, entry: AuditEntry): ChainedEntry {
  const at = entry.at ?? Date.now();
  if (!Number.isSafeInteger(at)) throw new TypeError(`audit: at must be epoch ms, got ${at}`);
  const prev = last ?? { seq: 0, hash: GENESIS_HASH };
  const fields: HashedFields = {
    seq: Number(prev.seq) + 1,
    at,
    kind: entry.kind,
    subject: entry.subject,
    change: entry.change,
    data: canonicalJson(entry.data ?? {}),
  };
  return { ...fields, kind: entry.kind, prev_hash: prev.hash, hash: hashEntry(prev.hash, fields) };
}
