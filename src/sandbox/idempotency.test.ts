import { describe, expect, it } from 'vitest';
import { createIdempotencyCache } from './idempotency.js';

describe('the sandbox idempotency cache', () => {
  it('answers a key until it expires, and lets expired keys go as new ones come', () => {
    let now = 1_000;
    const cache = createIdempotencyCache(() => now, 100);
    const created = { status: 201, body: { id: 1 } };
    for (const key of ['a', 'b', 'c']) cache.remember(key, `fp-${key}`, created);
    expect(cache.lookup('a', 'fp-a')).toEqual({ kind: 'hit', response: created });
    expect(cache.lookup('a', 'other body')).toEqual({ kind: 'mismatch' });
    now += 50;
    // Stored again later, `a` expires later than `b` and `c`.
    cache.remember('a', 'fp-a', created);
    now += 60;
    expect(cache.size).toBe(3);
    // `b` and `c` have expired and were never asked for again: they go when `d` comes.
    cache.remember('d', 'fp-d', created);
    expect(cache.size).toBe(2);
    expect(cache.lookup('b', 'fp-b')).toEqual({ kind: 'miss' });
    expect(cache.lookup('a', 'fp-a')).toEqual({ kind: 'hit', response: created });
  });
});
