import { setTimeout as sleep } from 'node:timers/promises';

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
}

/** Retry and timeout settings of webhook delivery. */
export interface WebhookSenderOptions {
  /** Waits between attempts; one retry per entry. Default 200 ms, 1 s, 5 s. */
  readonly retryDelaysMs?: readonly number[] | undefined;
  /** Per attempt, ms. Default 5000 (HubSpot's timeout). */
  readonly timeoutMs?: number | undefined;
}

/** Sends webhooks in the background, one at a time per URL so they arrive in write order. */
export interface WebhookSender {
  send(
    delivery: Omit<Delivery, 'id' | 'attempts' | 'status' | 'lastStatus' | 'lastError'>,
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
  const closing = new AbortController();
  const deliveries: Delivery[] = [];
  const queues = new Map<string, Promise<void>>();

  async function attempt(delivery: Delivery, parts: WebhookRequestParts): Promise<boolean> {
    delivery.attempts += 1;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        body: parts.body,
        headers: parts.headers,
        signal: AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)]),
      });
      delivery.lastStatus = response.status;
      delivery.lastError = null;
      await response.body?.cancel();
      return response.ok;
    } catch (error) {
      delivery.lastStatus = null;
      delivery.lastError = error instanceof Error ? error.message : String(error);
      return false;
    }
  }

  async function deliver(delivery: Delivery, build: (attempt: number) => WebhookRequestParts) {
    for (let retry = 0; retry <= retryDelaysMs.length; retry += 1) {
      if (closing.signal.aborted) break;
      if (await attempt(delivery, build(retry))) {
        delivery.status = 'delivered';
        return;
      }
      const wait = retryDelaysMs[retry];
      if (wait === undefined) break;
      await sleep(wait, undefined, { signal: closing.signal }).catch(() => undefined);
    }
    delivery.status = 'failed';
  }

  return {
    send(fields, build) {
      const delivery: Delivery = {
        ...fields,
        id: deliveries.length + 1,
        attempts: 0,
        status: 'pending',
        lastStatus: null,
        lastError: null,
      };
      deliveries.push(delivery);
      const previous = queues.get(delivery.url) ?? Promise.resolve();
      queues.set(
        delivery.url,
        previous.then(() => deliver(delivery, build)),
      );
    },
    async settled() {
      // A queue may grow while we wait on it; wait until a pass finds nothing new.
      for (;;) {
        const pending = [...queues.values()];
        await Promise.all(pending);
        if ([...queues.values()].every((queue, index) => queue === pending[index])) return;
      }
    },
    list: () => deliveries.map((delivery) => ({ ...delivery })),
    async close() {
      closing.abort();
      await this.settled();
    },
  };
}
