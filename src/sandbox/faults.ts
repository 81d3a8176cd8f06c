import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { ApiChaosKind, Chaos } from './chaos.js';

/**
 * A fault for the next `times` requests to `operation` (or `*`, any operation):
 * - `status` (429/5xx): answer it without applying anything; 429 and 503 carry `Retry-After`;
 * - `delayMs`: apply the request as usual, then hold the answer back that long, so a caller
 *   with a shorter timeout gives up on a write that landed;
 * - `applyAfterMs`: hold the request that long, then apply it and answer, so a write lands after
 *   a caller with a shorter timeout gave up on it and looked for it.
 */
export const faultSchema = z
  .strictObject({
    operation: z.string().trim().min(1).max(100),
    times: z.number().int().min(1).max(10_000).default(1),
    status: z
      .union([z.literal(429), z.literal(500), z.literal(502), z.literal(503), z.literal(504)])
      .optional(),
    retryAfterSeconds: z.number().int().min(0).max(3600).optional(),
    delayMs: z.number().int().min(1).max(600_000).optional(),
    applyAfterMs: z.number().int().min(1).max(600_000).optional(),
  })
  .refine(
    (fault) =>
      [fault.status, fault.delayMs, fault.applyAfterMs].filter((v) => v !== undefined).length === 1,
    { message: 'give exactly one of status, delayMs or applyAfterMs' },
  );
/** A fault as `POST /_faults` takes it. */
export type FaultSpec = z.input<typeof faultSchema>;

/** A pending fault; `remaining` counts down as requests use it. */
export interface Fault {
  readonly id: number;
  readonly operation: string;
  remaining: number;
  readonly status?: number | undefined;
  readonly retryAfterSeconds?: number | undefined;
  readonly delayMs?: number | undefined;
  readonly applyAfterMs?: number | undefined;
}

/** What one request gets: an explicit fault, or one that chaos picked. */
export interface InjectedFault {
  readonly status?: number | undefined;
  readonly retryAfterSeconds?: number | undefined;
  readonly delayMs?: number | undefined;
  readonly applyAfterMs?: number | undefined;
  /** Named in the problem answer of a failing one. */
  readonly source: { readonly fault: number } | { readonly chaos: ApiChaosKind };
}

/** Pending faults, consumed first-in first-out by the requests they match. */
export interface FaultTable {
  add(spec: FaultSpec): Fault;
  /** The fault the next request to `operation` gets, counted as used; null for none. */
  take(operation: string): Fault | null;
  /**
   * What the next request to `operation` gets: a pending fault first, else chaos's pick (counted
   * as injected); null for neither. `chaos: false` (a world request, `x-sandbox-chaos: off`)
   * skips chaos without drawing, so it does not shift the draws of the requests chaos is for.
   */
  forRequest(operation: string, options?: { readonly chaos?: boolean }): InjectedFault | null;
  list(): Fault[];
  clear(): void;
  /** Ends every held-back answer at once (the sandbox is closing). */
  release(): void;
  /** Waits `ms`, or less when released. */
  hold(ms: number): Promise<void>;
}

/** An empty fault table; with `chaos`, requests no pending fault matches may get chaos. */
export function createFaultTable(chaos: Chaos | null = null): FaultTable {
  let faults: Fault[] = [];
  let lastId = 0;
  const releasing = new AbortController();
  // Every held response waits on it: one listener per request held, by design.
  setMaxListeners(0, releasing.signal);
  const take = (operation: string) => {
    const fault = faults.find((f) => f.operation === operation || f.operation === '*');
    if (!fault) return null;
    fault.remaining -= 1;
    if (fault.remaining <= 0) faults = faults.filter((f) => f !== fault);
    return fault;
  };
  return {
    add(spec) {
      const parsed = faultSchema.parse(spec);
      lastId += 1;
      const fault: Fault = { id: lastId, ...parsed, remaining: parsed.times };
      faults.push(fault);
      return fault;
    },
    take,
    forRequest(operation, options) {
      // Chaos draws for every request, so its n-th pick for an operation stays the same whether
      // or not pending faults took some of the requests.
      const picked = options?.chaos === false ? null : (chaos?.pickFault(operation) ?? null);
      const fault = take(operation);
      if (fault) return { ...fault, source: { fault: fault.id } };
      if (!picked) return null;
      chaos?.count(picked.kind);
      return { ...picked, source: { chaos: picked.kind } };
    },
    list: () => faults.map((fault) => ({ ...fault })),
    clear() {
      faults = [];
    },
    release: () => releasing.abort(),
    hold: (ms) => sleep(ms, undefined, { signal: releasing.signal }).catch(() => undefined),
  };
}

type Handler<R extends FastifyRequest> = (request: R, reply: FastifyReply) => Promise<unknown>;

/**
 * `handler` under the fault table (pending faults, then chaos): a failing fault answers before
 * the handler runs (nothing is applied); a delaying one lets it run and holds back its answer; a
 * late one holds the request before it runs. A request with `x-sandbox-chaos: off` (the
 * simulated world's own traffic) is exempt from chaos, not from pending faults.
 */
export function withFaults<R extends FastifyRequest>(
  faults: FaultTable,
  operation: (request: R) => string,
  handler: Handler<R>,
): Handler<R> {
  return async (request, reply) => {
    const name = operation(request);
    const fault = faults.forRequest(name, { chaos: request.headers['x-sandbox-chaos'] !== 'off' });
    if (fault?.status !== undefined) {
      const retryAfterSeconds =
        fault.retryAfterSeconds ?? (fault.status === 429 || fault.status === 503 ? 1 : undefined);
      const by = 'chaos' in fault.source ? ` (chaos: ${fault.source.chaos})` : '';
      throw new AppError(
        'injected-fault',
        fault.status,
        `injected ${fault.status} on ${name}${by}`,
        {
          details: { ...fault.source, operation: name, retryAfterSeconds },
        },
      );
    }
    if (fault?.applyAfterMs !== undefined) await faults.hold(fault.applyAfterMs);
    const result = await handler(request, reply);
    if (fault?.delayMs !== undefined) await faults.hold(fault.delayMs);
    return result;
  };
}
