import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ActionRow } from './action-view.js';
import {
  type ExecuteDeps,
  executeAction,
  type FirstAttempt,
  LeaseLostError,
} from './execute-action.js';

/**
 * An idle worker looks again after 50 ms, doubling to at most 1 s while it finds nothing: actions
 * accepted here wake it at once (notify), so polling only finds retries that came due and work
 * accepted by other instances.
 */
const IDLE_POLL_MIN_MS = 50;
const IDLE_POLL_MAX_MS = 1_000;

export interface ActionWorkerOptions {
  /** How long a claim lasts; a worker that dies holding one is replaced when it runs out. */
  readonly leaseMs: number;
  /** Attempts the worker runs at once, each on a different record. */
  readonly concurrency: number;
  /** A failure of the worker's own, and the action it concerns when there is one. */
  readonly onError?: (error: unknown, action?: ActionRow) => void;
}

/**
 * The outbox worker: claims due actions, one record at a time in the order they were accepted
 * (a record's next action waits until the previous one is finished), and executes them. Several
 * workers, in one process or several, may run against one store: a claim is a conditional
 * update of the row's lease, which only one of them can win. A proposal that could be executed
 * at once runs its first attempt through `runLeased` itself, under a lease from `lease`.
 */
export class ActionWorker {
  readonly #deps: ExecuteDeps;
  readonly #options: ActionWorkerOptions;
  readonly #owner = randomUUID();
  readonly #settled = new EventEmitter();
  readonly #active = new Set<Promise<void>>();
  /** Every attempt under way, the claimed ones and those of requests (`track`), awaited by `stop`. */
  readonly #attempts = new Set<Promise<unknown>>();
  #running = false;
  #loop: Promise<void> = Promise.resolve();
  #wake: (() => void) | null = null;
  #woken = false;

  constructor(deps: ExecuteDeps, options: ActionWorkerOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#settled.setMaxListeners(0);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#claimLoop();
  }

  /** Stops claiming; resolves when the attempts under way have ended. */
  async stop(): Promise<void> {
    this.#running = false;
    this.notify();
    await this.#loop;
    await Promise.all(this.#attempts);
  }

  /** Something became due (a new action): look now rather than at the next poll. */
  notify(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** A lease for an action to be executed by this worker at once (see `acceptAction`). */
  lease(now: number): { owner: string; until: number } {
    return { owner: `${this.#owner}:${randomUUID()}`, until: now + this.#options.leaseMs };
  }

  /**
   * Runs one attempt at an action this worker holds the lease of, renewing the lease while the
   * attempt lasts; returns the row as the attempt left it (null if the lease was lost).
   */
  runLeased(row: ActionRow, first?: FirstAttempt): Promise<ActionRow | null> {
    return this.track(this.#runLeased(row, first));
  }

  /** `work` counted among the attempts under way, so that `stop` waits for it. */
  async track<T>(work: Promise<T>): Promise<T> {
    this.#attempts.add(work);
    try {
      return await work;
    } finally {
      this.#attempts.delete(work);
    }
  }

  async #runLeased(row: ActionRow, first?: FirstAttempt): Promise<ActionRow | null> {
    try {
      const after = await this.#whileLeased(row, () => executeAction(this.#deps, row, first));
      if (after.status === 'queued' || after.status === 'executing') {
        // Rescheduled: look again when it comes due rather than at the next idle poll.
        const timer = setTimeout(() => this.notify(), after.next_attempt_at - this.#deps.now());
        timer.unref();
      }
      return after;
    } catch (error) {
      // A lost lease is another worker's action now: nothing to report or release.
      if (error instanceof LeaseLostError) return null;
      this.#options.onError?.(error, row);
      await this.#release(row).catch(() => {});
      return null;
    } finally {
      this.#settled.emit(row.id);
    }
  }

  /**
   * The action's row once it is no longer queued or executing, or null after `timeoutMs`.
   * Settled by this worker it resolves at once; by another instance, at the next look.
   */
  async waitForSettled(id: string, timeoutMs: number): Promise<ActionRow | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await this.#deps.store.db
        .selectFrom('actions')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (row && row.status !== 'queued' && row.status !== 'executing') return row;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#settled.off(id, done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, 250));
        this.#settled.on(id, done);
      });
    }
  }

  /** Claims as many due actions as there are free places, starts each, and sleeps when idle. */
  async #claimLoop(): Promise<void> {
    let idleMs = IDLE_POLL_MIN_MS;
    while (this.#running) {
      this.#woken = false;
      const free = this.#options.concurrency - this.#active.size;
      let claimed = 0;
      if (free > 0) {
        try {
          const rows = await this.#deps.ops.run('claimDueActions', {
            now: this.#deps.now(),
            limit: free,
            leaseMs: this.#options.leaseMs,
            owner: this.#owner,
          });
          for (const row of rows) {
            const attempt: Promise<void> = this.runLeased(row).then(() => {
              this.#active.delete(attempt);
              this.notify();
            });
            this.#active.add(attempt);
          }
          claimed = rows.length;
        } catch (error) {
          this.#options.onError?.(error);
        }
      }
      if (claimed > 0 && this.#active.size < this.#options.concurrency) {
        idleMs = IDLE_POLL_MIN_MS;
        continue;
      }
      if (this.#woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, idleMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
      idleMs = claimed > 0 || free <= 0 ? IDLE_POLL_MIN_MS : Math.min(IDLE_POLL_MAX_MS, idleMs * 2);
    }
  }

  /** Runs `attempt`, renewing the lease every third of its length so a slow call keeps it. */
  async #whileLeased<T>(row: ActionRow, attempt: () => Promise<T>): Promise<T> {
    const renew = setInterval(() => {
      this.#deps.ops
        .run('updateLeasedAction', {
          id: row.id,
          owner: row.lease_owner,
          patch: { lease_until: this.#deps.now() + this.#options.leaseMs },
        })
        .catch((error: unknown) => this.#options.onError?.(error, row));
    }, this.#options.leaseMs / 3);
    try {
      return await attempt();
    } finally {
      clearInterval(renew);
    }
  }

  async #release(row: ActionRow): Promise<void> {
    await this.#deps.ops.run('updateLeasedAction', {
      id: row.id,
      owner: row.lease_owner,
      patch: { lease_owner: null, lease_until: null, next_attempt_at: this.#deps.now() + 1_000 },
    });
  }
}
