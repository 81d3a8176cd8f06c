import { createHmac, timingSafeEqual } from 'node:crypto';

/** How a digest is written in a header. */
export type DigestEncoding = 'hex' | 'base64';

/** The hash an HMAC is built on. SHA-1 only for providers that still sign with it (Intercom). */
export type HmacAlgorithm = 'sha256' | 'sha1';

/** Length of an HMAC-SHA256 digest in bytes. */
export const SHA256_BYTES = 32;

/** Length of each algorithm's digest in bytes. */
const DIGEST_BYTES: Readonly<Record<HmacAlgorithm, number>> = { sha256: SHA256_BYTES, sha1: 20 };

const HEX = /^[0-9a-f]*$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** HMAC under `key` of the parts concatenated; strings are taken as UTF-8. */
export function computeHmac(
  algorithm: HmacAlgorithm,
  key: Buffer | string,
  parts: readonly (Buffer | string)[],
): Buffer {
  const hmac = createHmac(algorithm, key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/** HMAC-SHA256 under `key` of the parts concatenated; strings are taken as UTF-8. */
export function computeHmacSha256(
  key: Buffer | string,
  parts: readonly (Buffer | string)[],
): Buffer {
  return computeHmac('sha256', key, parts);
}

/**
 * The bytes of a digest as written in a header, or null unless `text` is exactly `length` bytes
 * in canonical `encoding`. Never throws: a wrong length, a non-ASCII character or a value that
 * does not decode is simply no digest.
 */
export function decodeDigest(
  text: string,
  encoding: DigestEncoding,
  length: number,
): Buffer | null {
  if (encoding === 'hex') {
    if (text.length !== length * 2 || !HEX.test(text)) return null;
    return Buffer.from(text, 'hex');
  }
  // Node's base64 decoder skips characters it does not know, so check the alphabet and the
  // round trip first: only the one canonical spelling of the digest is accepted.
  if (text.length % 4 !== 0 || !BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length === length && bytes.toString('base64') === text ? bytes : null;
}

/**
 * True when any candidate (as written in the header) equals any expected digest of `length`
 * bytes (default SHA-256's 32). Each comparison is `timingSafeEqual` on buffers of equal length;
 * candidates that do not decode to `length` bytes never match.
 */
export function anyDigestMatches(
  expected: readonly Buffer[],
  candidates: readonly string[],
  encoding: DigestEncoding,
  length = SHA256_BYTES,
): boolean {
  let matched = false;
  for (const candidate of candidates) {
    const received = decodeDigest(candidate, encoding, length);
    if (received === null) continue;
    for (const digest of expected) {
      // No early return: the time taken should not depend on which secret or signature matched.
      if (digest.length === received.length && timingSafeEqual(digest, received)) matched = true;
    }
  }
  return matched;
}

/**
 * Whether `candidates` carry an HMAC (SHA-256 unless `algorithm` says otherwise) of `parts` under
 * any of `keys` (several during a rotation). A candidate must be exactly the algorithm's digest
 * length, so a SHA-256 digest never passes for SHA-1. Empty keys are skipped: an empty HMAC key
 * is one anybody can sign with.
 */
export function signedByAnyKey(
  keys: readonly (Buffer | string)[],
  parts: readonly (Buffer | string)[],
  candidates: readonly string[],
  encoding: DigestEncoding,
  algorithm: HmacAlgorithm = 'sha256',
): boolean {
  const expected = keys
    .filter((key) => key.length > 0)
    .map((key) => computeHmac(algorithm, key, parts));
  return anyDigestMatches(expected, candidates, encoding, DIGEST_BYTES[algorithm]);
}
