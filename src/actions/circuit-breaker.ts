/**
 * One breaker per connector: after `threshold` failed calls in a row (5xx, 429, timeouts), calls
 * to that system pause for `openMs`, so a struggling system is not hammered by every retry.
 */
export class CircuitBreakers {
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #now: () => number;
  readonly #state = new Map<string, { failures: number; openUntil: number }>();

  constructor(options: { threshold?: number; openMs?: number; now?: () => number } = {}) {
    this.#threshold = options.threshold ?? 5;
    this.#openMs = options.openMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  isOpen(system: string): boolean {
    return (this.#state.get(system)?.openUntil ?? 0) > this.#now();
  }

  openUntil(system: string): number {
    return this.#state.get(system)?.openUntil ?? 0;
  }

  /** Counts a call's outcome; a success closes the breaker. */
  record(system: string, failed: boolean): void {
    const state = this.#state.get(system) ?? { failures: 0, openUntil: 0 };
    state.failures = failed ? state.failures + 1 : 0;
    if (state.failures >= this.#threshold) {
      state.openUntil = this.#now() + this.#openMs;
      state.failures = 0;
    }
    this.#state.set(system, state);
  }
}
