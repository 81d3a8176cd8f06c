import { hash, timingSafeEqual } from 'node:crypto';

/**
 * The SHA-256 of a secret (a string as UTF-8): what Airlock keeps of agent keys and operator
 * tokens, and what it compares in constant time instead of the secret itself.
 */
export function secretDigest(secret: Buffer | string): Buffer {
  return hash('sha256', secret, 'buffer');
}

/**
 * The entry of `entries` whose stored SHA-256 (hex, from `storedOf`) is `digest`. Every entry is
 * compared, in constant time, so that the time taken tells neither which one matched nor where
 * a wrong secret differs.
 */
export function entryWithDigest<T>(
  entries: Readonly<Record<string, T>>,
  digest: Buffer,
  storedOf: (entry: T) => string,
): [name: string, entry: T] | undefined {
  let match: [string, T] | undefined;
  for (const [name, entry] of Object.entries(entries)) {
    if (timingSafeEqual(digest, Buffer.from(storedOf(entry), 'hex'))) match = [name, entry];
  }
  return match;
}
