import type { FastifyReply } from 'fastify';
import { type QueueState, readQueues } from '../activity/index.js';
import type { Store } from '../store/index.js';

/** The figures every open page keeps current. */
export interface LiveCounters {
  readonly approvalsPending: number;
  /** Changes whenever the set of pending approvals does: pages listing them reload the list. */
  readonly approvalsVersion: string;
  readonly actionsQueued: number;
  readonly actionsFailed: number;
  readonly deliveriesDead: number;
}

/**
 * What the live counters say, from `queues` when the caller has just read them (the overview),
 * else read now.
 */
export async function readLiveCounters(store: Store, queues?: QueueState): Promise<LiveCounters> {
  const waiting = queues ?? (await readQueues(store));
  const failed = await store.db
    .selectFrom('actions')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('status', 'in', ['failed', 'dead'])
    .executeTakeFirstOrThrow();
  return {
    approvalsPending: waiting.approvalsPending,
    approvalsVersion: await readApprovalsVersion(store),
    actionsQueued: waiting.actionsQueued + waiting.actionsExecuting,
    actionsFailed: Number(failed.count),
    deliveriesDead: waiting.deliveriesDead,
  };
}

/** `LiveCounters.approvalsVersion` alone: one query, for the page that lists approvals. */
export async function readApprovalsVersion(store: Store): Promise<string> {
  const pending = await store.db
    .selectFrom('approvals')
    .select((eb) => [eb.fn.countAll().as('count'), eb.fn.max('id').as('newest')])
    .where('status', '=', 'pending')
    .executeTakeFirstOrThrow();
  return `${Number(pending.count)}:${pending.newest ?? ''}`;
}

/**
 * Server-sent events at `GET /ui/live`: the counters, every `intervalMs` while anyone listens
 * and only when they changed. One read of the store serves every open page; none is made while
 * no page is open. Streams end when the server closes, so closing never waits on an open tab,
 * and each ends after `streamMs` too: the browser reconnects, signed in again, so a stream does
 * not outlive its session by more than that.
 */
export class LiveFeed {
  /** Each open stream, with the figures it was last sent. */
  readonly #listeners = new Map<FastifyReply, string>();
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(
    private readonly read: () => Promise<LiveCounters>,
    private readonly options: {
      readonly intervalMs: number;
      readonly streamMs: number;
      readonly onError: (error: unknown) => void;
    },
  ) {}

  /** Starts streaming to `reply` (already admitted); sends the current figures at once. */
  async attach(reply: FastifyReply): Promise<void> {
    reply.hijack();
    if (this.#closed) {
      reply.raw.writeHead(503).end();
      return;
    }
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // No proxy may hold the stream back to buffer it.
      'x-accel-buffering': 'no',
    });
    reply.raw.write('retry: 3000\n\n');
    this.#listeners.set(reply, '');
    const ending = setTimeout(() => reply.raw.end(), this.options.streamMs).unref();
    reply.raw.on('close', () => {
      clearTimeout(ending);
      this.#listeners.delete(reply);
      if (this.#listeners.size === 0) this.#stop();
    });
    try {
      const text = event(await this.read());
      if (this.#listeners.has(reply)) this.#listeners.set(reply, text);
      reply.raw.write(text);
    } catch (error) {
      this.options.onError(error);
    }
    // The page may have gone, or the server closed, while the figures were read.
    if (this.#closed || !this.#listeners.has(reply)) return;
    this.#timer ??= setInterval(() => void this.#tick(), this.options.intervalMs).unref();
  }

  /** Ends every stream (the browser reconnects to another instance, or after the restart). */
  close(): void {
    this.#closed = true;
    this.#stop();
    for (const reply of this.#listeners.keys()) reply.raw.end();
    this.#listeners.clear();
  }

  async #tick(): Promise<void> {
    let text: string;
    try {
      text = event(await this.read());
    } catch (error) {
      this.options.onError(error);
      return;
    }
    // A comment line keeps idle connections from being cut by proxies; data only on change,
    // against what each stream was last sent (at once when it opened, or on an earlier tick).
    for (const [reply, last] of this.#listeners) {
      reply.raw.write(text === last ? ': idle\n\n' : text);
      this.#listeners.set(reply, text);
    }
  }

  #stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

function event(counters: LiveCounters): string {
  return `event: counters\ndata: ${JSON.stringify(counters)}\n\n`;
}
