/** Work under way in a simulated agent, for its `idle()`. */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Counts work under way (tasks, scheduled tasks, requests being read) and tells `idle()` waiters
 * when it drops to none.
 */
export interface WorkTracker {
  /** Runs `task` in the background, counted until it settles; its failure is swallowed. */
  run(task: () => Promise<unknown>): void;
  /** Runs `task` after `ms`, counted from now. */
  later(ms: number, task: () => Promise<unknown>): void;
  /** Counts one unit of work until the returned function is called (once). */
  hold(): () => void;
  /** How many units are under way. */
  readonly busy: number;
  /** Resolves when nothing is under way (at once if nothing is). */
  idle(): Promise<void>;
  /** Drops scheduled tasks that have not started. */
  cancelLater(): void;
}

export function createWorkTracker(): WorkTracker {
  let busy = 0;
  let waiters: (() => void)[] = [];
  const timers = new Map<NodeJS.Timeout, () => void>();
  const hold = () => {
    busy += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      busy -= 1;
      if (busy === 0) {
        const ready = waiters;
        waiters = [];
        for (const resolve of ready) resolve();
      }
    };
  };
  const run = (task: () => Promise<unknown>) => {
    const done = hold();
    void task()
      .catch(() => {})
      .finally(done);
  };
  return {
    run,
    later(ms, task) {
      const done = hold();
      const timer = setTimeout(() => {
        timers.delete(timer);
        run(task);
        done();
      }, ms);
      timers.set(timer, done);
    },
    hold,
    get busy() {
      return busy;
    },
    idle: () =>
      busy === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
    cancelLater() {
      for (const [timer, done] of timers) {
        clearTimeout(timer);
        done();
      }
      timers.clear();
    },
  };
}
