import { setTimeout as sleep } from 'node:timers/promises';
import type { Delivery, NackRequest } from '../dispatch/wire.js';

/** The delivery calls the loop makes: `AirlockClient`'s. */
export interface DeliveryApi {
  lease(options: { max: number; visibilityMs?: number }): Promise<Delivery[]>;
  ack(deliveryId: string): Promise<unknown>;
  nack(deliveryId: string, options: NackRequest): Promise<unknown>;
}

/** Where a failure in the loop happened; the loop goes on after each. */
export type ConsumeErrorContext =
  | { readonly phase: 'lease' }
  | { readonly phase: 'handler' | 'ack' | 'nack'; readonly delivery: Delivery };

export interface ConsumeOptions {
  /** Stops the loop: no more leases; handlers under way finish, then `consume` resolves. */
  readonly signal?: AbortSignal;
  /** Most deliveries handled at once (each one record's), and most leased at once. Default 10. */
  readonly max?: number;
  /** How long a leased delivery is ours before it is offered again, in ms; the gateway's default when omitted. */
  readonly visibilityMs?: number;
  /** How long to wait when nothing was leased, in ms. Default 500. */
  readonly idleMs?: number;
  /**
   * Hears of each failure: a lease, ack or nack that failed (leases are retried with a growing
   * pause, up to 30 s), or a handler that threw (its delivery was nacked with the message).
   * Without it, failures other than a handler's become process warnings.
   */
  readonly onError?: (error: unknown, context: ConsumeErrorContext) => void;
}

const MAX_BACKOFF_MS = 30_000;
/** The gateway takes at most this many per lease. */
const MAX_LEASE = 100;
/** The gateway keeps at most this much of a nack's reason. */
const MAX_REASON = 2_000;

/**
 * Leases deliveries and runs `handler` on each: acked when it resolves, nacked with the error's
 * message when it throws (offered again later). Deliveries of different records run at once, up
 * to `max`; two of one record, one after the other. Resolves once `signal` aborted and the
 * handlers under way finished; deliveries leased as it aborted are given back at once.
 */
export async function consumeDeliveries(
  api: DeliveryApi,
  handler: (delivery: Delivery) => Promise<void>,
  options: ConsumeOptions = {},
): Promise<void> {
  const { signal } = options;
  const max = Math.max(1, Math.floor(options.max ?? 10));
  const idleMs = Math.max(0, options.idleMs ?? 500);
  const report = (error: unknown, context: ConsumeErrorContext) => {
    if (options.onError) options.onError(error, context);
    else if (context.phase !== 'handler') warn(error, context);
  };
  const running = new Set<Promise<void>>();
  /** The last task of each record: the next one of that record starts after it. */
  const tails = new Map<string, Promise<void>>();

  const settle = async (delivery: Delivery) => {
    try {
      await handler(delivery);
    } catch (error) {
      report(error, { phase: 'handler', delivery });
      const message = error instanceof Error ? error.message : String(error);
      await api
        .nack(delivery.id, { reason: message.slice(0, MAX_REASON) })
        .catch((nackError: unknown) => report(nackError, { phase: 'nack', delivery }));
      return;
    }
    await api.ack(delivery.id).catch((error: unknown) => report(error, { phase: 'ack', delivery }));
  };

  const start = (delivery: Delivery) => {
    const key = delivery.record
      ? `${delivery.record.system}:${delivery.record.type}:${delivery.record.id}`
      : delivery.id;
    const task = (tails.get(key) ?? Promise.resolve()).then(() => settle(delivery));
    tails.set(key, task);
    running.add(task);
    void task.finally(() => {
      running.delete(task);
      if (tails.get(key) === task) tails.delete(key);
    });
  };

  let failures = 0;
  while (!signal?.aborted) {
    if (running.size >= max) {
      await Promise.race(running);
      continue;
    }
    let leased: Delivery[];
    try {
      leased = await api.lease({
        max: Math.min(max - running.size, MAX_LEASE),
        ...(options.visibilityMs === undefined ? {} : { visibilityMs: options.visibilityMs }),
      });
      failures = 0;
    } catch (error) {
      report(error, { phase: 'lease' });
      failures += 1;
      await pause(Math.min(Math.max(idleMs, 250) * 2 ** (failures - 1), MAX_BACKOFF_MS), signal);
      continue;
    }
    if (signal?.aborted) {
      // Leased as we stopped: given back now rather than after the visibility timeout.
      await Promise.all(
        leased.map((delivery) =>
          api
            .nack(delivery.id, { delayMs: 0, reason: 'the consumer stopped' })
            .catch((error: unknown) => report(error, { phase: 'nack', delivery })),
        ),
      );
      break;
    }
    for (const delivery of leased) start(delivery);
    if (leased.length === 0) await pause(idleMs, signal);
  }
  await Promise.all(running);
}

/** Waits `ms`, or less when `signal` aborts. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch {
    // Aborted: the loop sees it.
  }
}

function warn(error: unknown, context: ConsumeErrorContext): void {
  const message = error instanceof Error ? error.message : String(error);
  const about = 'delivery' in context ? ` of ${context.delivery.id}` : '';
  process.emitWarning(`airlock consume: ${context.phase}${about} failed: ${message}`, {
    type: 'AirlockConsumeWarning',
  });
}
