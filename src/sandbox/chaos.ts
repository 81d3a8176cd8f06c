import { z } from 'zod';
import { AppError, describeIssues } from '../errors.js';
import { draw } from '../seeded-random.js';

const rate = z.number().min(0).max(1);
const duration = z.number().int().min(1).max(600_000);

const webhookChaosSchema = z.strictObject({
  /** Share of deliveries sent twice, the same bytes (same event ids), as a provider retry is. */
  duplicate: rate.default(0),
  /** Share of deliveries held out of line for up to `reorderWindowMs`, so later ones overtake. */
  reorder: rate.default(0),
  reorderWindowMs: duration.default(500),
  /** Share of deliveries held in line for up to `delayMs` before their first attempt. */
  delay: rate.default(0),
  delayMs: duration.default(300),
  /** Share of deliveries whose first attempt is not sent (counted as failed); the retry sends. */
  drop: rate.default(0),
});

const apiChaosSchema = z.strictObject({
  /** Share of requests answered 500·502·503·504 without being applied. */
  error5xx: rate.default(0),
  /** Share of requests answered 429 with `Retry-After: 1` without being applied. */
  tooManyRequests: rate.default(0),
  /** Share of requests applied, then answered `slowMs` late (less than a client's timeout). */
  slow: rate.default(0),
  slowMs: duration.default(200),
  /** Share of requests applied, then answered `holdMs` late (more than a client's timeout). */
  timeoutAfterApply: rate.default(0),
  holdMs: duration.default(15_000),
});

/** Chaos for a sandbox: seeded rates (0..1) of webhook and API misbehaviour. */
export const chaosSchema = z.strictObject({
  seed: z.number().int(),
  webhooks: webhookChaosSchema.prefault({}),
  api: apiChaosSchema.prefault({}),
});
/** Chaos as `createSandbox({ chaos })` takes it: a seed, and rates that default to 0. */
export type ChaosOptions = z.input<typeof chaosSchema>;
/** Chaos with every default filled in. */
export type ChaosSettings = z.output<typeof chaosSchema>;

/** What chaos does to a webhook delivery. */
export type WebhookChaosKind = 'duplicate' | 'reorder' | 'delay' | 'drop';
/** What chaos does to an API request, in precedence order when several are drawn at once. */
export const API_CHAOS_KINDS = [
  'error5xx',
  'tooManyRequests',
  'timeoutAfterApply',
  'slow',
] as const;
export type ApiChaosKind = (typeof API_CHAOS_KINDS)[number];
export type ChaosKind = WebhookChaosKind | ApiChaosKind;

/** The chaos presets of `airlock sandbox --chaos <name>`; `heavy` is about twice `mild`. */
export const CHAOS_PRESETS = {
  mild: {
    webhooks: {
      duplicate: 0.1,
      reorder: 0.1,
      reorderWindowMs: 500,
      delay: 0.1,
      delayMs: 300,
      drop: 0.05,
    },
    api: {
      error5xx: 0.03,
      tooManyRequests: 0.03,
      slow: 0.05,
      slowMs: 200,
      timeoutAfterApply: 0.01,
    },
  },
  heavy: {
    webhooks: {
      duplicate: 0.2,
      reorder: 0.2,
      reorderWindowMs: 1000,
      delay: 0.2,
      delayMs: 600,
      drop: 0.1,
    },
    api: { error5xx: 0.06, tooManyRequests: 0.06, slow: 0.1, slowMs: 400, timeoutAfterApply: 0.02 },
  },
} as const satisfies Record<string, Omit<ChaosOptions, 'seed'>>;

/** The chaos chosen for one webhook delivery. */
export interface WebhookChaosPlan {
  readonly duplicate: boolean;
  /** Held this long out of line, so later deliveries overtake it; null when not reordered. */
  readonly reorderMs: number | null;
  /** Held this long in line before the first attempt (those behind it wait); null for none. */
  readonly delayMs: number | null;
  readonly drop: boolean;
}

/** No chaos for a delivery. */
export const NO_WEBHOOK_CHAOS: WebhookChaosPlan = {
  duplicate: false,
  reorderMs: null,
  delayMs: null,
  drop: false,
};

/** The chaos chosen for one API request, as a fault: a failing status or a held-back answer. */
export interface ApiChaosPick {
  readonly kind: ApiChaosKind;
  readonly status?: number;
  readonly retryAfterSeconds?: number;
  readonly delayMs?: number;
}

/** What `GET /_chaos` answers: the settings and how often each kind was injected. */
export interface ChaosReport {
  readonly seed: number | null;
  readonly options: ChaosSettings | null;
  readonly injected: Record<ChaosKind, number>;
}

/** Seeded chaos decisions and the count of what was injected. */
export interface Chaos {
  readonly settings: ChaosSettings;
  /** The chaos for the `part`-th delivery (0-based) of write `writeSeq` on `channel`. */
  planDelivery(writeSeq: number, channel: string, part: number): WebhookChaosPlan;
  /** The chaos for the next request to `operation` (requests are counted per operation). */
  pickFault(operation: string): ApiChaosPick | null;
  /** Counts one chaos event that was injected. */
  count(kind: ChaosKind): void;
  report(): ChaosReport;
}

const SERVER_ERRORS = [500, 502, 503, 504] as const;

/**
 * Chaos on `options.seed`. Each decision is a draw from its own stream (the decision's kind)
 * at its own key (the write sequence number and part, or the operation and its request
 * number), so it depends on the seed and that key only, not on when other decisions were made.
 * A bad option throws 400 `invalid-chaos` naming it.
 */
export function createChaos(options: ChaosOptions): Chaos {
  const settings = parseChaos(chaosSchema, options);
  const { seed, webhooks, api } = settings;
  const injected = zeroCounts();
  const requests = new Map<string, number>();
  const pick = (stream: string, key: string) => draw(seed, stream, key);
  const hits = (stream: string, key: string, chance: number) =>
    chance > 0 && pick(stream, key) < chance;

  return {
    settings,
    planDelivery(writeSeq, channel, part) {
      const key = `${channel}:${writeSeq}:${part}`;
      // Hold for at least 1 ms, so a drawn hold is never "none".
      const hold = (stream: string, maxMs: number) => 1 + Math.floor(pick(stream, key) * maxMs);
      return {
        duplicate: hits('duplicate', key, webhooks.duplicate),
        reorderMs: hits('reorder', key, webhooks.reorder)
          ? hold('reorder-ms', webhooks.reorderWindowMs)
          : null,
        delayMs: hits('delay', key, webhooks.delay) ? hold('delay-ms', webhooks.delayMs) : null,
        drop: hits('drop', key, webhooks.drop),
      };
    },
    pickFault(operation) {
      const n = (requests.get(operation) ?? 0) + 1;
      requests.set(operation, n);
      const key = `${operation}:${n}`;
      const kind = API_CHAOS_KINDS.find((k) => hits(k, key, api[k]));
      switch (kind) {
        case undefined:
          return null;
        case 'error5xx': {
          const status = SERVER_ERRORS[Math.floor(pick('error5xx-status', key) * 4)] ?? 500;
          return { kind, status };
        }
        case 'tooManyRequests':
          return { kind, status: 429, retryAfterSeconds: 1 };
        case 'timeoutAfterApply':
          return { kind, delayMs: api.holdMs };
        case 'slow':
          return { kind, delayMs: api.slowMs };
      }
    },
    count(kind) {
      injected[kind] += 1;
    },
    report: () => ({ seed, options: settings, injected: { ...injected } }),
  };
}

/** The report of a sandbox without chaos. */
export function reportChaos(chaos: Chaos | null): ChaosReport {
  return chaos?.report() ?? { seed: null, options: null, injected: zeroCounts() };
}

/**
 * A `--chaos` value: a preset name (`mild`, `heavy`) or a JSON object of `ChaosOptions`, whose
 * `seed` is optional here. A bad one throws 400 `invalid-chaos` saying what was expected.
 */
export function parseChaosSpec(spec: string): Omit<ChaosOptions, 'seed'> & { seed?: number } {
  const text = spec.trim();
  if (Object.hasOwn(CHAOS_PRESETS, text)) return CHAOS_PRESETS[text as keyof typeof CHAOS_PRESETS];
  if (!text.startsWith('{')) {
    throw new AppError(
      'invalid-chaos',
      400,
      `unknown chaos preset "${text}": expected ${Object.keys(CHAOS_PRESETS).join(', ')} or a JSON object`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AppError(
      'invalid-chaos',
      400,
      `chaos is not valid JSON: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return parseChaos(chaosSchema.extend({ seed: z.number().int().optional() }), value);
}

function parseChaos<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = describeIssues(parsed.error.issues, 'chaos');
  throw new AppError('invalid-chaos', 400, `invalid chaos: ${problems.join('; ')}`, {
    details: { problems },
  });
}

function zeroCounts(): Record<ChaosKind, number> {
  return {
    duplicate: 0,
    reorder: 0,
    delay: 0,
    drop: 0,
    error5xx: 0,
    tooManyRequests: 0,
    timeoutAfterApply: 0,
    slow: 0,
  };
}
