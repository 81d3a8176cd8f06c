import { isIP } from 'node:net';
import { AppError } from '../errors.js';

/** Unrecognised credentials one client address may present per window. */
const FAILURES_ALLOWED = 20;
const WINDOW_MS = 60_000;
/** Addresses tracked at once; past it the oldest are forgotten. */
const ADDRESSES_KEPT = 10_000;

interface Window {
  failures: number;
  readonly endsAt: number;
}

/**
 * Limits guessing of a credential: a client address that presented 20 the matcher did not
 * recognise within a minute is refused with 429 `too-many-attempts` until that minute ends,
 * before anything it presents is compared, a right one included (else the refusal would tell a
 * guess that matched). Checked and counted in one synchronous step, so guesses sent at once
 * cannot slip past the count.
 */
export class AttemptLimiter {
  readonly #windows = new Map<string, Window>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * `match()`'s result for a credential from `address`; throws when the address is held off.
   * An IPv6 address counts with the rest of its /64, which one client usually holds whole.
   */
  match<T>(client: string, match: () => T | undefined): T | undefined {
    const address = addressGroup(client);
    const at = this.#now();
    let window = this.#windows.get(address);
    if (window && window.endsAt <= at) {
      this.#windows.delete(address);
      window = undefined;
    }
    if (window && window.failures >= FAILURES_ALLOWED) {
      throw new AppError(
        'too-many-attempts',
        429,
        `${FAILURES_ALLOWED} credentials from this address were not recognised within a minute; try again later`,
        { details: { retryAfterSeconds: Math.ceil((window.endsAt - at) / 1000) } },
      );
    }
    const matched = match();
    if (matched !== undefined) return matched;
    if (!window) {
      window = { failures: 0, endsAt: at + WINDOW_MS };
      this.#windows.set(address, window);
      this.#forgetOldest(at);
    }
    window.failures += 1;
    return undefined;
  }

  /** Keeps the map within ADDRESSES_KEPT: ended windows first, then the oldest. */
  #forgetOldest(at: number): void {
    if (this.#windows.size <= ADDRESSES_KEPT) return;
    for (const [address, window] of this.#windows) {
      if (window.endsAt <= at) this.#windows.delete(address);
    }
    for (const address of this.#windows.keys()) {
      if (this.#windows.size <= ADDRESSES_KEPT) break;
      this.#windows.delete(address);
    }
  }
}

/**
 * The group an address is counted in: an IPv4 address (also written IPv4-mapped, `::ffff:…`)
 * alone, an IPv6 address with its /64.
 */
export function addressGroup(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array<string>(8 - left.length - right.length).fill('0');
  const groups = tail === undefined ? left : [...left, ...zeros, ...right];
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
