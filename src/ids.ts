import { randomFillSync } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

export type IdPrefix = 'evt' | 'req' | 'act' | 'apr' | 'dlv';

/**
 * A new id: `prefix_` and a UUIDv7 in hex. UUIDv7 starts with the time in milliseconds, so ids
 * sort in the order they were made (strictly within one thread; ids of two threads made in the
 * same millisecond in either order), which keyset pagination and pruning by age rely on.
 */
export function newId(prefix: IdPrefix): string {
  const random = randomBytes16();
  const now = Date.now();
  // As uuid's own v7 counts: a random start each millisecond, one up within it, and on past the
  // millisecond should the count wrap (or the clock step back).
  if (now > clock.ms) {
    clock.ms = now;
    const [, , , , , , b6 = 0, b7 = 0, b8 = 0, b9 = 0] = random;
    clock.seq = ((b6 & 0x7f) << 24) | (b7 << 16) | (b8 << 8) | b9;
  } else {
    clock.seq = (clock.seq + 1) | 0;
    if (clock.seq === 0) clock.ms += 1;
  }
  uuidv7({ msecs: clock.ms, seq: clock.seq, random }, idBytes);
  return `${prefix}_${idBytes.toString('hex')}`;
}

/** Where uuid lays out each id's 16 bytes. */
const idBytes = Buffer.alloc(16);

/** The last id's millisecond and count. */
const clock = { ms: Number.NEGATIVE_INFINITY, seq: 0 };

/**
 * 16 random bytes for an id, from a pool refilled 4 KB at a time. Left to itself, uuid draws 16
 * bytes through Web Crypto for every id: `newId` took 2.4 µs, about a twentieth of the writer
 * thread's time under `bench:ingest`; it now takes 0.44. Given its bytes, uuid keeps no count
 * of its own, so `newId` keeps it.
 */
function randomBytes16(): Uint8Array {
  if (pool.used + 16 > pool.bytes.length) {
    randomFillSync(pool.bytes);
    pool.used = 0;
  }
  const bytes = pool.bytes.subarray(pool.used, pool.used + 16);
  pool.used += 16;
  return bytes;
}

const pool = { bytes: Buffer.alloc(4096), used: 4096 };

/** The lowest possible id made at `epochMs`: every id made before it sorts below. */
export function firstIdAt(prefix: IdPrefix, epochMs: number): string {
  return `${prefix}_${Math.max(0, Math.floor(epochMs)).toString(16).padStart(12, '0')}`;
}

/**
 * The approval of an action shares its id's time and randomness: `act_X` is approved as `apr_X`.
 * Either id finds the other without a lookup.
 */
export function approvalIdOf(actionId: string): string {
  return `apr_${actionId.slice('act_'.length)}`;
}

export function actionIdOfApproval(approvalId: string): string {
  return `act_${approvalId.slice('apr_'.length)}`;
}
