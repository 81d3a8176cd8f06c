import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

/** Failed credentials one client address may present per window. */
const FAILURES_ALLOWED = 20;
const WINDOW_MS = 60_000;
/** Addresses tracked at once; past it the oldest are forgotten. */
const ADDRESSES_KEPT = 10_000;

interface Window {
  failures: number;
  readonly endsAt: number;
}

/** Paths that take no agent key or operator token (webhooks are verified by their scheme). */
const UNGUARDED = /^\/(hooks\/|healthz$|readyz$)/;

/**
 * Limits guessing: a client address that presented 20 credentials the gateway did not
 * recognise within a minute (agent keys, operator tokens, the dashboard's sign-in form, each
 * answered 401) is answered 429 `too-many-attempts` until that minute ends, before any
 * credential it sends is looked at. Counted per gateway instance, by `request.ip` (the proxy's
 * address unless `server.trustProxy`).
 */
export function limitFailedSignIns(app: FastifyInstance, now: () => number = Date.now): void {
  const windows = new Map<string, Window>();
  const guarded = (request: FastifyRequest) => !UNGUARDED.test(request.url.split('?')[0] ?? '');

  app.addHook('onRequest', async (request) => {
    if (!guarded(request)) return;
    const window = windows.get(request.ip);
    if (!window || window.failures < FAILURES_ALLOWED) return;
    const left = window.endsAt - now();
    if (left <= 0) {
      windows.delete(request.ip);
      return;
    }
    throw new AppError(
      'too-many-attempts',
      429,
      `${FAILURES_ALLOWED} credentials from this address were not recognised within a minute; try again later`,
      { details: { retryAfterSeconds: Math.ceil(left / 1000) } },
    );
  });

  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode !== 401 || !guarded(request)) return;
    const at = now();
    let window = windows.get(request.ip);
    if (!window || window.endsAt <= at) {
      window = { failures: 0, endsAt: at + WINDOW_MS };
      windows.delete(request.ip);
      windows.set(request.ip, window);
      forgetOldest(windows, at);
    }
    window.failures += 1;
  });
}

/** Keeps the map within ADDRESSES_KEPT: ended windows first, then the oldest. */
function forgetOldest(windows: Map<string, Window>, at: number): void {
  if (windows.size <= ADDRESSES_KEPT) return;
  for (const [address, window] of windows) {
    if (window.endsAt <= at) windows.delete(address);
  }
  for (const address of windows.keys()) {
    if (windows.size <= ADDRESSES_KEPT) break;
    windows.delete(address);
  }
}
