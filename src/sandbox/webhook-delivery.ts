import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Chaos,
  NO_WEBHOOK_CHAOS,
  type WebhookChaosKind,
  type WebhookChaosPlan,
} from './chaos.js';
import { DEFAULT_KEEP, keepLatest } from './keep-latest.js';

/** One webhook request as built for one attempt (bodies carry the attempt number, HubSpot's do). */
export interface WebhookRequestParts {
  readonly body: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** What became of one webhook: visible at `GET /_deliveries`. */
export interface Delivery {
  readonly id: number;
  readonly channel: 'helpdesk' | 'crm';
  readonly url: string;
  /** The applied write it reports. */
  readonly writeSeq: number;
  attempts: number;
  status: 'pending' | 'delivered' | 'failed';
  /** The receiver's last HTTP status, null when it never answered. */
  lastStatus: number | null;
  lastError: string | null;
  /** The chaos chosen for it (empty without chaos). */
  readonly chaos: readonly WebhookChaosKind[];
}

/** Retry and timeout settings of webhook delivery. */
export interface WebhookSenderOptions {
  /** Waits between attempts; one retry per entry. Default 200 ms, 1 s, 5 s. */
  readonly retryDelaysMs?: readonly number[] | undefined;
  /** Per attempt, ms. Default 5000 (HubSpot's timeout). */
  readonly timeoutMs?: number | undefined;
  /** Duplicates, reorders, delays and drops deliveries at seeded rates. Default none. */
  readonly chaos?: Chaos | null | undefined;
  /** How many of the latest deliveries `list` shows (a tenth more at most). Default 10,000. */
  readonly keep?: number | undefined;
}

/**
 * Sends webhooks in the background, one at a time per URL so they arrive in write order (unless
 * chaos reorders them).
 */
export interface WebhookSender {
  send(
    delivery: Omit<Delivery, 'id' | 'attempts' | 'status' | 'lastStatus' | 'lastError' | 'chaos'>,
    build: (attempt: number) => WebhookRequestParts,
  ): void;
  /** Resolves once every webhook sent so far is delivered or has failed for good. */
  settled(): Promise<void>;
  list(): Delivery[];
  /** Stops retrying and aborts requests in flight. */
  close(): Promise<void>;
}

const DEFAULT_RETRY_DELAYS_MS = [200, 1000, 5000];

/** A sender with nothing queued. */
export function createWebhookSender(options: WebhookSenderOptions = {}): WebhookSender {
  const retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const timeoutMs = options.timeoutMs ?? 5000;
  const chaos = options.chaos ?? null;
  const closing = new AbortController();
  // Every pending delivery and pause waits on it: one listener each, by design.
  setMaxListeners(0, closing.signal);
  const keep = options.keep ?? DEFAULT_KEEP;
  const deliveries: Delivery[] = [];
  let sent = 0;
  /** Per URL, the end of its line: a delivery is sent once every one before it is done. */
  const lines = new Map<string, Promise<void>>();
  /** Every delivery not yet delivered or failed for good, held ones included. */
  const unsettled = new Set<Promise<void>>();
  let lastWrite = { channel: '', writeSeq: 0, part: 0 };

  const pause = (ms: number) => sleep(ms, undefined, { signal: closing.signal }).catch(() => {});

  async function post(url: string, parts: WebhookRequestParts): Promise<Response> {
    const response = await fetch(url, {
      method: 'POST',
      body: parts.body,
      headers: parts.headers,
      signal: AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)]),
    });
    await response.body?.cancel();
    return response;
  }

  async function attempt(delivery: Delivery, parts: WebhookRequestParts): Promise<boolean> {
    delivery.attempts += 1;
    try {
      const response = await post(delivery.url, parts);
      delivery.lastStatus = response.status;
      delivery.lastError = null;
      return response.ok;
    } catch (error) {
      delivery.lastStatus = null;
      delivery.lastError = error instanceof Error ? error.message : String(error);
      return false;
    }
  }

  async function deliver(
    delivery: Delivery,
    build: (attempt: number) => WebhookRequestParts,
    plan: WebhookChaosPlan,
  ) {
    if (plan.delayMs !== null && !closing.signal.aborted) {
      chaos?.count('delay');
      await pause(plan.delayMs);
    }
    for (let retry = 0; retry <= retryDelaysMs.length; retry += 1) {
      if (closing.signal.aborted) break;
      const parts = build(retry);
      if (retry === 0 && plan.drop) {
        // Lost on the way: the sender counts it as a failed attempt and retries as usual.
        chaos?.count('drop');
        delivery.attempts += 1;
        delivery.lastStatus = null;
        delivery.lastError = 'dropped by chaos';
      } else if (await attempt(delivery, parts)) {
        delivery.status = 'delivered';
        if (plan.duplicate) await sendDuplicate(delivery, parts);
        return;
      }
      const wait = retryDelaysMs[retry];
      if (wait === undefined) break;
      await pause(wait);
    }
    delivery.status = 'failed';
  }

  /** The same bytes again, as a provider that missed the answer sends them; not an attempt. */
  async function sendDuplicate(delivery: Delivery, parts: WebhookRequestParts) {
    if (closing.signal.aborted) return;
    chaos?.count('duplicate');
    await post(delivery.url, parts).catch(() => undefined);
  }

  function enqueue(
    delivery: Delivery,
    build: (attempt: number) => WebhookRequestParts,
    plan: WebhookChaosPlan,
  ): Promise<void> {
    const done = (lines.get(delivery.url) ?? Promise.resolve()).then(() =>
      deliver(delivery, build, plan),
    );
    lines.set(delivery.url, done);
    return done;
  }

  function planFor(channel: string, writeSeq: number): WebhookChaosPlan {
    // A write's deliveries on a channel are sent one after another; `part` numbers them.
    const part =
      lastWrite.channel === channel && lastWrite.writeSeq === writeSeq ? lastWrite.part + 1 : 0;
    lastWrite = { channel, writeSeq, part };
    return chaos?.planDelivery(writeSeq, channel, part) ?? NO_WEBHOOK_CHAOS;
  }

  return {
    send(fields, build) {
      const plan = planFor(fields.channel, fields.writeSeq);
      const delivery: Delivery = {
        ...fields,
        id: ++sent,
        attempts: 0,
        status: 'pending',
        lastStatus: null,
        lastError: null,
        chaos: chaosKinds(plan),
      };
      deliveries.push(delivery);
      keepLatest(deliveries, keep);
      let done: Promise<void>;
      if (plan.reorderMs === null) {
        done = enqueue(delivery, build, plan);
      } else {
        // Out of line while held: deliveries sent meanwhile go ahead of it.
        chaos?.count('reorder');
        done = pause(plan.reorderMs).then(() => enqueue(delivery, build, plan));
      }
      unsettled.add(done);
      void done.then(() => unsettled.delete(done));
    },
    async settled() {
      // Deliveries may be added while we wait; wait until none is left.
      while (unsettled.size > 0) await Promise.all([...unsettled]);
    },
    list: () => deliveries.map((delivery) => ({ ...delivery })),
    async close() {
      closing.abort();
      await this.settled();
    },
  };
}

function chaosKinds(plan: WebhookChaosPlan): WebhookChaosKind[] {
  const kinds: WebhookChaosKind[] = [];
  if (plan.duplicate) kinds.push('duplicate');
  if (plan.reorderMs !== null) kinds.push('reorder');
  if (plan.delayMs !== null) kinds.push('delay');
  if (plan.drop) kinds.push('drop');
  return kinds;
}
