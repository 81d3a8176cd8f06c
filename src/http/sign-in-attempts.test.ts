import { describe, expect, it } from 'vitest';
import { AttemptLimiter, addressGroup } from './sign-in-attempts.js';

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

describe('addressGroup', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:0:1::7', '2001:db8:0:1::/64'],
    ['2001:0db8:0000:0001:ffff:0:0:1', '2001:db8:0:1::/64'],
    ['2001:DB8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1:2:3:4', 'fe80:0:0:0::/64'],
  ])('counts %s as %s', (address, group) => {
    expect(addressGroup(address)).toBe(group);
  });

  it('holds off a whole IPv6 /64 together', () => {
    const limiter = new AttemptLimiter(() => 0);
    for (let miss = 0; miss < 20; miss += 1) {
      limiter.match(`2001:db8:0:1::${miss.toString(16)}`, () => undefined);
    }
    expect(() => limiter.match('2001:db8:0:1:ffff::1', () => 'right')).toThrow();
    expect(limiter.match('2001:db8:0:2::1', () => 'right')).toBe('right');
  });
});
