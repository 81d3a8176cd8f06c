import type { ActivityKind } from '../store/index.js';
import { type ActivityOps, type ActivityRow, minuteOf } from './activity-counts.js';

export interface ActivityTallyOptions {
  /** A flush that failed; its counts are kept for the next one. Must not throw. */
  readonly onError: (error: unknown) => void;
  /** Milliseconds between flushes once started; default 2 s. */
  readonly flushMs?: number;
  /** The clock occurrences are counted by (epoch ms); default `Date.now`. */
  readonly now?: () => number;
}

const DEFAULT_FLUSH_MS = 2_000;

/**
 * Counts occurrences in memory by kind, subject, reason and minute, and adds them to the store's
 * `activity_counts` every few seconds and on `stop`: a burst of rejected webhooks costs one
 * upsert per minute and reason, not one write each, and the hot paths that count never wait for
 * the store. A flush that fails keeps its counts for the next. Memory grows by one entry per
 * distinct kind, subject and reason per minute while the store cannot be written, no faster:
 * subjects and reasons come from configured names and error codes, never from request input.
 */
export class ActivityTally {
  readonly #ops: Pick<ActivityOps, 'run'>;
  readonly #onError: (error: unknown) => void;
  readonly #flushMs: number;
  readonly #now: () => number;
  #pending = new Map<string, ActivityRow>();
  #flushing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(ops: Pick<ActivityOps, 'run'>, options: ActivityTallyOptions) {
    this.#ops = ops;
    this.#onError = options.onError;
    this.#flushMs = options.flushMs ?? DEFAULT_FLUSH_MS;
    this.#now = options.now ?? Date.now;
  }

  /** One occurrence, now. */
  count(kind: ActivityKind, subject: string, reason: string): void {
    const at = this.#now();
    this.#add({ kind, subject, reason, minute: minuteOf(at), count: 1, last_at: at });
  }

  /** Flushes every `flushMs` until `stop`. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.flush(), this.#flushMs);
    // Counting must not keep a process alive that has nothing else to do.
    this.#timer.unref();
  }

  /**
   * Adds the counts so far to the store. Resolves when they are written, or, when writing
   * failed, after `onError` was called and the counts put back for the next flush. Never
   * rejects. Flushes run one after the other, so a failed one's counts are back before the next.
   */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  /** Stops the timer and flushes what was counted. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  async #write(): Promise<void> {
    // Nothing counted, nothing sent: on SQLite an op would start the writer thread.
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      await this.#ops.run('recordActivity', { rows: [...batch.values()] });
    } catch (error) {
      for (const row of batch.values()) this.#add(row);
      this.#onError(error);
    }
  }

  #add(row: ActivityRow): void {
    const key = JSON.stringify([row.kind, row.subject, row.reason, row.minute]);
    const counted = this.#pending.get(key);
    this.#pending.set(
      key,
      counted
        ? {
            ...counted,
            count: counted.count + row.count,
            last_at: Math.max(counted.last_at, row.last_at),
          }
        : row,
    );
  }
}
