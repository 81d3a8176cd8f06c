import { describe, expect, it } from 'vitest';
import { AttemptLimiter } from './sign-in-attempts.js';

describe('AttemptLimiter', () => {
  const clock = { now: 1_000_000 };
  const guess = (limiter: AttemptLimiter, address: string) =>
    limiter.match(address, () => undefined);

  it('holds an address off after 20 misses in a minute, without comparing what it sends', () => {
    const limiter = new AttemptLimiter(() => clock.now);
    for (let miss = 0; miss < 20; miss += 1) expect(guess(limiter, '10.0.0.1')).toBeUndefined();
    let compared = false;
    expect(() =>
      limiter.match('10.0.0.1', () => {
        compared = true;
        return 'right';
      }),
    ).toThrow(expect.objectContaining({ code: 'too-many-attempts', status: 429 }));
    expect(compared).toBe(false);
    // Another address is not held off; a match does not count as a miss.
    expect(limiter.match('10.0.0.2', () => 'right')).toBe('right');
  });

  it('lets the address try again once the minute of its first miss has passed', () => {
    const limiter = new AttemptLimiter(() => clock.now);
    const start = clock.now;
    for (let miss = 0; miss < 20; miss += 1) guess(limiter, '10.0.0.3');
    clock.now = start + 59_000;
    expect(() => guess(limiter, '10.0.0.3')).toThrow(
      expect.objectContaining({ details: { retryAfterSeconds: 1 } }),
    );
    clock.now = start + 60_000;
    expect(limiter.match('10.0.0.3', () => 'right')).toBe('right');
    for (let miss = 0; miss < 19; miss += 1) guess(limiter, '10.0.0.3');
    expect(limiter.match('10.0.0.3', () => 'right')).toBe('right');
  });

  it('does not count matches', () => {
    const limiter = new AttemptLimiter(() => clock.now);
    for (let tries = 0; tries < 100; tries += 1) {
      expect(limiter.match('10.0.0.4', () => 'right')).toBe('right');
    }
    for (let miss = 0; miss < 20; miss += 1) guess(limiter, '10.0.0.4');
    expect(() => guess(limiter, '10.0.0.4')).toThrow();
  });
});
