import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { ActionRow } from './action-view.js';
import { type ExecuteDeps, executeAction, LeaseLostError } from './execute-action.js';

/**
 * An idle loop looks again after 50 ms, doubling to at most 1 s while it finds nothing: actions
 * accepted here wake it at once (notify), so polling only finds retries that came due and work
 * accepted by other instances.
 */
const IDLE_POLL_MIN_MS = 50;
const IDLE_POLL_MAX_MS = 1_000;

export interface ActionWorkerOptions {
  /** How long a claim lasts; a worker that dies holding one is replaced when it runs out. */
  readonly leaseMs: number;
  /** Attempts running at once, each on a different record. */
  readonly concurrency: number;
  readonly onError?: (error: unknown) => void;
}

/**
 * The outbox worker: claims due actions, one record at a time in the order they were accepted
 * (a record's next action waits until the previous one is finished), and executes them. Several
 * workers, in one process or several, may run against one store: a claim is a conditional
 * update of the row's lease, which only one of them can win.
 */
export class ActionWorker {
  readonly #deps: ExecuteDeps;
  readonly #options: ActionWorkerOptions;
  readonly #owner = randomUUID();
  readonly #settled = new EventEmitter();
  #running = false;
  #loops: Promise<void>[] = [];
  readonly #sleepers = new Set<() => void>();

  constructor(deps: ExecuteDeps, options: ActionWorkerOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#settled.setMaxListeners(0);
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loops = Array.from({ length: this.#options.concurrency }, () => this.#loop());
  }

  /** Stops claiming; resolves when the attempts under way have ended. */
  async stop(): Promise<void> {
    this.#running = false;
    this.notify();
    await Promise.all(this.#loops);
  }

  /** Something became due (a new action): look now rather than at the next poll. */
  notify(): void {
    for (const wake of this.#sleepers) wake();
    this.#sleepers.clear();
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

  async #loop(): Promise<void> {
    let idleMs = IDLE_POLL_MIN_MS;
    while (this.#running) {
      let row: ActionRow | undefined;
      try {
        row = await this.#claim();
        if (row) {
          idleMs = IDLE_POLL_MIN_MS;
          await this.#whileLeased(row, () => executeAction(this.#deps, row as ActionRow));
          this.#settled.emit(row.id);
          continue;
        }
      } catch (error) {
        // A lost lease is another worker's action now: nothing to report or release.
        if (error instanceof LeaseLostError) continue;
        this.#options.onError?.(error);
        if (row) await this.#release(row).catch(() => {});
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#sleepers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, idleMs);
        this.#sleepers.add(wake);
      });
      idleMs = Math.min(IDLE_POLL_MAX_MS, idleMs * 2);
    }
  }

  /** Runs `attempt`, renewing the lease every third of its length so a slow call keeps it. */
  async #whileLeased<T>(row: ActionRow, attempt: () => Promise<T>): Promise<T> {
    const renew = setInterval(() => {
      this.#deps.store.db
        .updateTable('actions')
        .set({ lease_until: this.#deps.now() + this.#options.leaseMs })
        .where('id', '=', row.id)
        .where('lease_owner', '=', row.lease_owner)
        .execute()
        .catch((error: unknown) => this.#options.onError?.(error));
    }, this.#options.leaseMs / 3);
    try {
      return await attempt();
    } finally {
      clearInterval(renew);
    }
  }

  async #claim(): Promise<ActionRow | undefined> {
    const { db } = this.#deps.store;
    const now = this.#deps.now();
    const candidates = await db
      .selectFrom('actions as a')
      .select('a.id')
      .where('a.status', 'in', ['queued', 'executing'])
      .where('a.next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('a.lease_until', 'is', null), eb('a.lease_until', '<', now)]))
      // A record's actions run in the order they were accepted (ids sort by creation).
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('actions as b')
              .select('b.id')
              .whereRef('b.record_key', '=', 'a.record_key')
              .where('b.status', 'in', ['queued', 'executing'])
              .whereRef('b.id', '<', 'a.id'),
          ),
        ),
      )
      .orderBy('a.next_attempt_at')
      .limit(this.#options.concurrency)
      .execute();
    // Each claim gets its own token: a worker's writes to the row check they still hold it.
    const token = `${this.#owner}:${randomUUID()}`;
    for (const { id } of candidates) {
      const claimed = await db
        .updateTable('actions')
        .set({ lease_owner: token, lease_until: now + this.#options.leaseMs })
        .where('id', '=', id)
        // Re-checked on the row itself: of two workers that picked the same id, one wins.
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now)]))
        .returningAll()
        .executeTakeFirst();
      if (claimed) return claimed;
    }
    return undefined;
  }

  async #release(row: ActionRow): Promise<void> {
    await this.#deps.store.db
      .updateTable('actions')
      .set({ lease_owner: null, lease_until: null, next_attempt_at: this.#deps.now() + 1_000 })
      .where('id', '=', row.id)
      .where('lease_owner', '=', row.lease_owner)
      .execute();
  }
}
