/** How long a ticket-create key is remembered: Zendesk keeps them 2 hours. */
export const IDEMPOTENCY_TTL_MS = 2 * 60 * 60 * 1000;

/** A response remembered under a key. */
export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
}

/** What a key lookup found. */
export type IdempotencyLookup =
  | { readonly kind: 'miss' }
  | { readonly kind: 'hit'; readonly response: StoredResponse }
  /** The key was used with a different body. */
  | { readonly kind: 'mismatch' };

interface Entry {
  readonly fingerprint: string;
  readonly response: StoredResponse;
  readonly expiresAt: number;
}

/** Zendesk-style `Idempotency-Key` memory for ticket creates. */
export interface IdempotencyCache {
  lookup(key: string, fingerprint: string): IdempotencyLookup;
  remember(key: string, fingerprint: string, response: StoredResponse): void;
  /** How many keys are held, expired ones not yet let go included. */
  readonly size: number;
}

/**
 * A cache whose entries expire `ttlMs` after they were stored, by `now` (epoch ms). Expired
 * entries are let go as new ones come, so its size is bounded by what one TTL brings.
 */
export function createIdempotencyCache(
  now: () => number,
  ttlMs = IDEMPOTENCY_TTL_MS,
): IdempotencyCache {
  const entries = new Map<string, Entry>();
  return {
    lookup(key, fingerprint) {
      const entry = entries.get(key);
      if (!entry || entry.expiresAt <= now()) {
        entries.delete(key);
        return { kind: 'miss' };
      }
      return entry.fingerprint === fingerprint
        ? { kind: 'hit', response: entry.response }
        : { kind: 'mismatch' };
    },
    remember(key, fingerprint, response) {
      // Entries stay in the order they expire (one TTL for all): the expired ones are at the
      // front, and go here, so keys never asked for again do not pile up.
      const at = now();
      for (const [oldest, entry] of entries) {
        if (entry.expiresAt > at) break;
        entries.delete(oldest);
      }
      entries.delete(key);
      entries.set(key, { fingerprint, response, expiresAt: at + ttlMs });
    },
    get size() {
      return entries.size;
    },
  };
}
