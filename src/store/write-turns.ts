import { threadId, type Worker } from 'node:worker_threads';
import { sharedInt32 } from './shared-memory.js';
import { BUSY_TIMEOUT_MS } from './sqlite-connection.js';

/*
 * The writer threads of one SQLite file in this process (the op runner's and the inbox's) take
 * turns at its write lock, in the order they asked. Left to SQLite, a writer that finds the lock
 * held sleeps in the busy handler (1, 2, 5, … up to 100 ms between looks), and a writer that
 * commits batch after batch takes the lock again in between: in `bench:actions`, proposals
 * beside 2,000 webhooks a second took 37.8 ms at the median and 419.6 ms at the 99th percentile,
 * against 12.1 and 29.8-38.4 ms taking turns. A turn is a ticket: `NEXT` is the next ticket to
 * hand out, `SERVING` the ticket whose turn it is; ending a turn wakes the waiters at once.
 *
 * Other connections (CLI commands, migrations at start-up, another process) still meet the lock
 * through SQLite's busy handler.
 */

const NEXT = 0;
const SERVING = 1;
/**
 * Int32 cells 2 and 3, read as one 64-bit cell: the holder of the turn, while it holds it, as its
 * thread id and ticket (0: none), so that one atomic read tells whose turn a thread held.
 */
const HOLDER_BYTE_OFFSET = 8;
const CELLS = 4;

/** The turns of one SQLite file, passed to each writer thread in its `workerData`. */
export type WriteTurns = Int32Array<SharedArrayBuffer>;

/**
 * How long a turn may stand still before the next waiter goes ahead: a thread that ended while
 * waiting for its turn never takes it. As long as SQLite's `busy_timeout`, which still guards
 * the lock itself.
 */
const STUCK_MS = BUSY_TIMEOUT_MS;

/** The turns of the SQLite file `path`, one per file in this process (main thread only). */
export function writeTurns(path: string): WriteTurns {
  return sharedInt32(`write-turns:${path}`, CELLS);
}

/**
 * Waits for this thread's turn (blocking it: writer threads only) and answers the function that
 * ends it. Write between the two, and end the turn in a `finally`. A turn that stands still for
 * `stuckMs` is skipped.
 */
export function takeTurn(turns: WriteTurns, stuckMs = STUCK_MS): () => void {
  const ticket = Atomics.add(turns, NEXT, 1);
  for (;;) {
    const serving = Atomics.load(turns, SERVING);
    if (serving === ticket) break;
    if (Atomics.wait(turns, SERVING, serving, stuckMs) === 'timed-out') {
      // Skip the ticket that stood still; the lock itself is still SQLite's to guard.
      advance(turns, serving);
    }
  }
  const holder = holderOf(turns);
  const held = holding(threadId, ticket);
  Atomics.store(holder, 0, held);
  return () => {
    Atomics.compareExchange(holder, 0, held, 0n);
    advance(turns, ticket);
  };
}

/** Serves the ticket after `ticket`, unless another ticket is served by now. */
function advance(turns: WriteTurns, ticket: number): void {
  if (Atomics.compareExchange(turns, SERVING, ticket, (ticket + 1) | 0) === ticket) {
    Atomics.notify(turns, SERVING);
  }
}

function holderOf(turns: WriteTurns): BigInt64Array<SharedArrayBuffer> {
  return new BigInt64Array(turns.buffer, HOLDER_BYTE_OFFSET, 1);
}

/** The holder cell's value for `thread` holding `ticket`. */
function holding(thread: number, ticket: number): bigint {
  return (BigInt(thread) << 32n) | BigInt(ticket >>> 0);
}

/**
 * Has `thread`'s turn, should it end while holding one (its isolate killed mid-batch), go to the
 * next waiter at once. Main thread, for each writer thread it starts.
 */
export function endTurnsOnExit(thread: Worker, turns: WriteTurns): void {
  const id = thread.threadId;
  const holder = holderOf(turns);
  thread.once('exit', () => {
    const held = Atomics.load(holder, 0);
    if (held >> 32n !== BigInt(id)) return;
    // The very turn it held, and only while nobody has taken the next (after a stuck turn).
    if (Atomics.compareExchange(holder, 0, held, 0n) !== held) return;
    advance(turns, Number(BigInt.asIntN(32, held)));
  });
}
