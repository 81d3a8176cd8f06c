import { timingSafeEqual } from 'node:crypto';
import { secretDigest } from '../../secret-digest.js';

/**
 * Whether `received` equals any of `secrets` (several during a rotation), for schemes where the
 * request carries the secret itself rather than a signature. Both sides are hashed with SHA-256
 * first so every comparison is a `timingSafeEqual` of 32 bytes: the time taken depends neither on
 * where the values differ nor on the secret's length. Strings are taken as UTF-8; empty secrets
 * never match.
 */
export function matchesAnySecret(received: Buffer | string, secrets: readonly string[]): boolean {
  const digest = secretDigest(received);
  let matched = false;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    // No early return: the time taken should not depend on which secret matched.
    if (timingSafeEqual(digest, secretDigest(secret))) matched = true;
  }
  return matched;
}
