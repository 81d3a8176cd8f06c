import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import { crashPoint } from '../crash-point.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logging.js';
import { postSignedOnce } from '../notify/signed-post.js';
import type { LeasedDelivery, Settled } from './delivery-ops.js';
import { type HandOverDeps, type Prepared, prepareDeliveries } from './hand-over.js';
import { type Subscription, subscriptionsOf } from './subscriptions.js';
import type { Delivery } from './wire.js';

/** Audit entries the fan-out looks at per transaction. */
const FANOUT_BATCH = 1_000;

export interface DispatcherOptions {
  readonly agents: Config['agents'];
  readonly delivery: Config['delivery'];
  /**
   * How long a push holds its delivery: the record's read and the POST must be over by then,
   * or another instance takes it over. At least the slowest connector's timeout plus
   * `delivery.timeout`.
   */
  readonly pushLeaseMs: number;
  readonly log?: Logger | undefined;
}

/**
 * Hands inbox events to agents, in order per record (src/dispatch/README.md). The fan-out
 * turns committed events into delivery rows per subscribed agent; a push loop per agent with a
 * URL POSTs each delivery, signed, and acknowledges it on a 2xx; agents without a URL lease
 * deliveries over HTTP (`lease`, `ack`, `nack`). Every step is a store op, so several gateway
 * instances may run dispatchers against one store.
 */
export class Dispatcher {
  readonly #deps: HandOverDeps;
  readonly #options: DispatcherOptions;
  readonly #subscriptions: Subscription[];
  readonly #wakers = new Map<string, () => void>();
  #running = false;
  #loops: Promise<void>[] = [];
  #seq = -1;

  constructor(deps: HandOverDeps, options: DispatcherOptions) {
    this.#deps = deps;
    this.#options = options;
    this.#subscriptions = subscriptionsOf(options.agents);
  }

  /** Takes every event committed so far into the agents' queues (and sets new agents' start). */
  async catchUp(): Promise<void> {
    if (this.#subscriptions.length === 0) return;
    for (;;) {
      const result = await this.#deps.ops.run('fanOut', {
        subscriptions: this.#subscriptions,
        now: this.#deps.now(),
        limit: FANOUT_BATCH,
        dialect: this.#deps.store.dialect,
      });
      this.#seq = result.seq;
      for (const agent of Object.keys(result.inserted)) this.#wakers.get(agent)?.();
      if (result.scanned < FANOUT_BATCH) return;
    }
  }

  start(): void {
    if (this.#running || this.#subscriptions.length === 0) return;
    this.#running = true;
    this.#loops = [
      this.#fanOutLoop(),
      ...this.#subscriptions.flatMap(({ agent }) =>
        this.#options.agents[agent]?.deliver?.url ? [this.#pushLoop(agent)] : [],
      ),
    ];
  }

  /** Stops; resolves when the hand-overs under way have ended. */
  async stop(): Promise<void> {
    this.#running = false;
    for (const wake of this.#wakers.values()) wake();
    await Promise.allSettled(this.#loops);
  }

  /** Pull: up to `max` deliveries of the agent, leased for `visibilityMs`. */
  async lease(agent: string, max: number, visibilityMs: number): Promise<Delivery[]> {
    const deliver = this.#deliverOf(agent);
    if (deliver.url) {
      throw new AppError(
        'push-agent',
        409,
        `agent ${agent} is delivered to ${deliver.url}: its events are pushed, not leased`,
      );
    }
    const leased = await this.#deps.ops.run('leaseDeliveries', {
      agent,
      now: this.#deps.now(),
      max,
      leaseMs: visibilityMs,
      maxAttempts: deliver.maxAttempts,
      coalesce: deliver.settle > 0,
      dialect: this.#deps.store.dialect,
    });
    const { ready, failed } = await prepareDeliveries(this.#deps, agent, leased, true);
    await Promise.all(this.#giveBack(agent, failed));
    return ready;
  }

  ack(agent: string, id: string): Promise<Settled> {
    this.#deliverOf(agent);
    return this.#deps.ops.run('ackDelivery', {
      agent,
      id,
      now: this.#deps.now(),
      dialect: this.#deps.store.dialect,
    });
  }

  /**
   * Gives a delivery back. `final` dead-letters it now (no attempt can succeed); `unsent`: it was
   * never handed over (see `nackDelivery`).
   */
  nack(
    agent: string,
    id: string,
    delayMs: number | null,
    reason: string,
    how: { final?: boolean; unsent?: boolean } = {},
  ): Promise<Settled> {
    const deliver = this.#deliverOf(agent);
    return this.#deps.ops.run('nackDelivery', {
      agent,
      id,
      now: this.#deps.now(),
      delayMs,
      reason,
      maxAttempts: deliver.maxAttempts,
      ...how,
      dialect: this.#deps.store.dialect,
    });
  }

  /** Gives back the deliveries that could not be put together; none was handed over. */
  #giveBack(agent: string, failed: Prepared['failed']): Promise<Settled>[] {
    return failed.map(({ id, reason, unsent }) => this.nack(agent, id, null, reason, { unsent }));
  }

  /**
   * Puts an event's deliveries (every agent's, or `agent`'s), or one delivery's events, back in
   * line: dead-lettered, acknowledged, superseded or echo rows are handed over again.
   */
  async redeliver(id: string, agent: string | null): Promise<{ agent: string; event: string }[]> {
    const requeued = await this.#deps.ops.run('redeliver', {
      id,
      agent,
      now: this.#deps.now(),
      dialect: this.#deps.store.dialect,
    });
    for (const row of requeued) this.#wakers.get(row.agent)?.();
    return requeued;
  }

  /** Resumes pushing to an agent whose endpoint answered 410; false when it was not disabled. */
  async enable(agent: string): Promise<boolean> {
    if (!Object.hasOwn(this.#options.agents, agent)) {
      throw new AppError('unknown-agent', 404, `no agent ${agent} in the config`, {
        details: { agent },
      });
    }
    const enabled = await this.#deps.ops.run('enableEndpoint', { agent });
    this.#wakers.get(agent)?.();
    return enabled;
  }

  #deliverOf(agent: string) {
    const deliver = Object.hasOwn(this.#options.agents, agent)
      ? this.#options.agents[agent]?.deliver
      : undefined;
    if (!deliver || deliver.events.length === 0) {
      throw new AppError(
        'not-subscribed',
        409,
        `agent ${agent} subscribes to no events: set agents.${agent}.deliver.events in the config`,
      );
    }
    return deliver;
  }

  async #fanOutLoop(): Promise<void> {
    while (this.#running) {
      try {
        const head = await this.#deps.store.db
          .selectFrom('audit_log')
          .select((eb) => eb.fn.max('seq').as('seq'))
          .executeTakeFirst();
        if (Number(head?.seq ?? 0) > this.#seq) await this.catchUp();
      } catch (err) {
        this.#options.log?.error({ err }, 'taking events into agent queues failed');
      }
      await sleep(this.#options.delivery.poll);
    }
  }

  async #pushLoop(agent: string): Promise<void> {
    while (this.#running) {
      let busy = false;
      try {
        busy = await this.#pushOnce(agent);
      } catch (err) {
        this.#options.log?.error({ err, agent }, 'pushing events to an agent failed');
      }
      if (!busy && this.#running) await this.#idle(agent);
    }
  }

  /** Waits for the poll interval, or less when the fan-out brings the agent something. */
  #idle(agent: string): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, this.#options.delivery.poll * 5);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wakers.set(agent, done);
    });
  }

  /** One round of pushes; true when there was something to push. */
  async #pushOnce(agent: string): Promise<boolean> {
    const deliver = this.#deliverOf(agent);
    const disabled = await this.#deps.store.db
      .selectFrom('agent_endpoints')
      .select('reason')
      .where('agent', '=', agent)
      .executeTakeFirst();
    if (disabled) return false;
    const { concurrency } = this.#options.delivery;
    const leased: LeasedDelivery[] = await this.#deps.ops.run('leaseDeliveries', {
      agent,
      now: this.#deps.now(),
      max: concurrency,
      // Long enough for the read and the POST; an instance that dies holding it is replaced.
      leaseMs: this.#options.pushLeaseMs,
      maxAttempts: deliver.maxAttempts,
      coalesce: deliver.settle > 0,
      dialect: this.#deps.store.dialect,
    });
    if (leased.length === 0) return false;
    crashPoint('delivery:after-lease');
    const { ready, failed } = await prepareDeliveries(this.#deps, agent, leased, false);
    // Settled, not all: one failing ack must not leave the others running unwatched.
    const outcomes = await Promise.allSettled([
      ...this.#giveBack(agent, failed),
      ...ready.map((delivery) => this.#push(agent, delivery)),
    ]);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        this.#options.log?.error({ err: outcome.reason, agent }, 'settling a push failed');
      }
    }
    return true;
  }

  async #push(agent: string, delivery: Delivery): Promise<void> {
    const deliver = this.#deliverOf(agent);
    if (!deliver.url || !deliver.secret) return;
    const answer = await postSignedOnce(
      {
        url: deliver.url,
        secret: deliver.secret.reveal(),
        id: delivery.id,
        body: JSON.stringify(delivery),
        allowPrivateNetwork: deliver.allowPrivateNetwork,
      },
      { timeoutMs: this.#options.delivery.timeout },
    );
    const log = this.#options.log;
    if ('error' in answer) {
      log?.warn({ agent, delivery: delivery.id, reason: answer.error }, 'push failed');
      // A forbidden address stays forbidden: no retry can succeed.
      await this.nack(agent, delivery.id, null, answer.error, { final: answer.ssrf });
      return;
    }
    if (answer.status >= 200 && answer.status < 300) {
      crashPoint('delivery:after-push');
      await this.ack(agent, delivery.id);
      return;
    }
    if (answer.status === 410) {
      const reason = `${deliver.url} answered 410 Gone`;
      log?.warn({ agent }, `push endpoint disabled: ${reason}; airlock agents enable ${agent}`);
      await this.#deps.ops.run('disableEndpoint', { agent, reason, now: this.#deps.now() });
      await this.nack(agent, delivery.id, 0, reason);
      return;
    }
    await this.nack(agent, delivery.id, answer.retryAfterMs, `HTTP ${answer.status}`);
  }
}
