import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { inspect } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { OPERATION_NAMES } from './actions/index.js';
import { AppError, describeIssues } from './errors.js';
import { checkSchemeOptions, checkSecret, type SchemeName, schemes } from './ingest/index.js';
import { isRedactPath } from './logging.js';
import { urlProblem } from './net/index.js';
import { policyRulesSchema } from './policy/index.js';

/** A secret value: usable through `reveal()`, redacted in logs, JSON and `util.inspect`. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return '[redacted]';
  }
}

const atLeastAnHour = (ms: number) => ms >= 3_600_000;

const DURATION_UNITS_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const SIZE_UNITS = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2 } as const;

/** `500ms`, `30s`, `15m`, `24h`, `7d`, or a number of milliseconds; parsed to milliseconds. */
const duration = z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^(\d+)\s*(ms|s|m|h|d)$/.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: `expected a duration like 30s, 15m, 24h or 7d` });
    return z.NEVER;
  }
  return Number(match[1]) * DURATION_UNITS_MS[match[2] as keyof typeof DURATION_UNITS_MS];
});

/** How long a write may land after it was sent, unless a connector says otherwise. */
export const DEFAULT_LATE_WRITE_WINDOW_MS = 60_000;

/** The longest delay Node's timers keep (2^31 - 1 ms); a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2_147_483_647;

/** A duration the gateway waits with a timer: at most about 24.8 days. */
const timer = duration.refine((ms) => ms <= MAX_TIMER_MS, 'expected a duration of at most 24d');

/** An http: or https: URL (a `javascript:` or `file:` one is no address to call or link). */
const httpUrl = z.url({ protocol: /^https?$/ });

/** A TCP port, as a number or digits (an environment variable): 0 for any free one. */
const PORT_EXPECTED = 'expected a port number from 0 to 65535';
const port = z
  .union([z.number(), z.string().trim().regex(/^\d+$/).transform(Number)], {
    error: PORT_EXPECTED,
  })
  .pipe(
    z
      .number({ error: PORT_EXPECTED })
      .int(PORT_EXPECTED)
      .min(0, PORT_EXPECTED)
      .max(65_535, PORT_EXPECTED),
  );

/** `512kb`, `1mb`, or a number of bytes; parsed to bytes. */
const byteSize = z.union([z.number().int().positive(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'number') return value;
  const match = /^(\d+)\s*(b|kb|kib|mb|mib)$/i.exec(value.trim());
  if (!match) {
    ctx.addIssue({ code: 'custom', message: 'expected a size like 512kb or 1mb' });
    return z.NEVER;
  }
  return Number(match[1]) * SIZE_UNITS[match[2]?.toLowerCase() as keyof typeof SIZE_UNITS];
});

/** A secret given literally or as `env:NAME`; resolved against the environment at load time. */
function secret(env: NodeJS.ProcessEnv) {
  return z
    .string()
    .min(1)
    .transform((value, ctx) => {
      if (!value.startsWith('env:')) return new Secret(value);
      const name = value.slice(4);
      const resolved = env[name];
      if (resolved === undefined || resolved === '') {
        ctx.addIssue({ code: 'custom', message: `environment variable ${name} is not set` });
        return z.NEVER;
      }
      return new Secret(resolved);
    });
}

/** A secret Airlock signs with as Standard Webhooks (`whsec_<base64>`). */
function standardWebhooksSecret(env: NodeJS.ProcessEnv) {
  return secret(env).superRefine((value, ctx) => {
    const problem = checkSecret('standard-webhooks', value.reveal());
    if (problem) ctx.addIssue({ code: 'custom', message: `the secret ${problem}` });
  });
}

const sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/i, 'expected the hex SHA-256 of the token (64 hex digits)')
  .transform((value) => value.toLowerCase());

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'expected lower-case letters, digits, - or _');

/** An agent's name: `airlock-…` names are the gateway's own (`airlock-undo` proposes undos). */
export const agentName = name.refine((value) => !value.startsWith('airlock-'), {
  error: 'names starting with airlock- are reserved to the gateway',
});

const SCHEME_NAMES = Object.keys(schemes) as [SchemeName, ...SchemeName[]];

export const OPERATOR_ROLES = ['viewer', 'approver', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

const PROXY_ADDRESS =
  'expected proxy addresses: an IP address, a CIDR range (10.0.0.0/8) or loopback, linklocal, uniquelocal';

/** An entry of `server.trustProxy` as Fastify (proxy-addr) takes it. */
function isProxyAddress(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** Where a connector connects to: two names with one place are one system. */
export function connectorAt(options: { readonly kind: string; readonly url: string }): string {
  // Normalised (host case, default port, a trailing slash), unless it is no URL at all: then
  // the config is refused for it anyway.
  return `${options.kind} ${URL.canParse(options.url) ? new URL(options.url).href : options.url}`;
}

/**
 * Names that are one system must say which record types each serves, none in two of them:
 * otherwise one record has two names, and what Airlock keys on a record (its order, rate
 * limits, the basis check) does not hold across them.
 */
function checkOneNamePerRecord(
  connectors: Record<string, { kind: string; url: string; types?: string[] | undefined }>,
  ctx: z.RefinementCtx,
): void {
  const byPlace = new Map<string, Array<[string, { types?: string[] | undefined }]>>();
  for (const [name, options] of Object.entries(connectors)) {
    const at = connectorAt(options);
    byPlace.set(at, [...(byPlace.get(at) ?? []), [name, options]]);
  }
  for (const [at, named] of byPlace) {
    if (named.length < 2) continue;
    const names = named.map(([name]) => name).join(', ');
    const servedBy = new Map<string, string>();
    for (const [name, options] of named) {
      if (!options.types) {
        ctx.addIssue({
          code: 'custom',
          path: [name, 'types'],
          message: `${names} are one system (${at}): each must list the record types it serves`,
        });
        continue;
      }
      for (const type of options.types) {
        const other = servedBy.get(type);
        if (other && other !== name) {
          ctx.addIssue({
            code: 'custom',
            path: [name, 'types'],
            message: `${type} is served by ${other} too, and ${names} are one system (${at}): a record type may have one name only`,
          });
        }
        servedBy.set(type, name);
      }
    }
  }
}

function configSchema(env: NodeJS.ProcessEnv) {
  const source = z
    .strictObject({
      scheme: z.enum(SCHEME_NAMES),
      secrets: z.array(secret(env)).min(1, 'expected at least one secret'),
      /** The system the source's records belong to; defaults to the source's name. */
      system: name.optional(),
      toleranceSeconds: z.number().int().positive().default(300),
      /** The URL the provider calls, as configured there (HubSpot v3 signs it). */
      url: httpUrl.optional(),
      signatureHeader: z.string().min(1).optional(),
      encoding: z.enum(['hex', 'base64']).optional(),
      signaturePrefix: z.string().optional(),
      eventIdHeader: z.string().min(1).optional(),
    })
    .superRefine((value, ctx) => {
      for (const [index, secret] of value.secrets.entries()) {
        const problem = checkSecret(value.scheme, secret.reveal());
        if (problem)
          ctx.addIssue({ code: 'custom', path: ['secrets', index], message: `secret ${problem}` });
      }
      const problem = checkSchemeOptions(value.scheme, value);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

  return z.strictObject({
    server: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8080),
        /**
         * Trust X-Forwarded-* from proxies in front (needed for HubSpot's signed URL): the
         * proxies' addresses and CIDR ranges (a list, or one string with commas), or `true`
         * for every hop, with which a client's own X-Forwarded-For names its address.
         */
        trustProxy: z
          .union([
            z.boolean(),
            z
              .union([z.string(), z.array(z.string())])
              .transform((value) =>
                (typeof value === 'string' ? value.split(',') : value).map((entry) => entry.trim()),
              )
              .pipe(z.array(z.string().refine(isProxyAddress, PROXY_ADDRESS)).min(1)),
          ])
          .default(false),
        /**
         * The most a client may take to send a whole request, headers and body. Past it the
         * request is answered 408 and its connection closed, so a client that sends slowly or
         * stops half way does not hold a connection for ever. Answers may take longer (a long
         * poll, a proposal waiting for its outcome).
         */
        requestTimeout: timer
          .refine((ms) => ms >= 1000, 'expected a duration of 1s or more')
          .default(30_000),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info'),
        /**
         * Paths censored in log lines (PII), in pino's redact syntax. The default keeps message
         * bodies, emails and phone numbers of action params out of the logs; a list given
         * replaces it.
         */
        redact: z
          .array(
            z
              .string()
              .trim()
              .min(1)
              .max(200)
              .refine(isRedactPath, 'expected a path such as params.body or effect.after.email'),
          )
          .max(100)
          .default([
            'params.body',
            'params.email',
            'params.phone',
            'params.*.email',
            'params.*.phone',
          ]),
      })
      .prefault({}),
    store: z
      .strictObject({
        url: z
          .string()
          .regex(/^(sqlite:|postgres:\/\/|postgresql:\/\/)/, 'expected sqlite:PATH or postgres://…')
          // Not kept: an empty path is a temporary file deleted on close, and `:memory:` is one
          // database per connection.
          .refine(
            (url) => !['sqlite:', 'sqlite::memory:'].includes(url.trim()),
            'expected a file path after sqlite:',
          )
          .default('sqlite:./data/airlock.db'),
        /** PostgreSQL connections per instance. */
        poolSize: z.number().int().positive().default(10),
      })
      .prefault({}),
    ingest: z
      .strictObject({
        /** Largest webhook body accepted; larger ones are refused with 413 while streaming. */
        bodyLimit: byteSize.default(1024 * 1024),
        /** Most deliveries committed together in one durable transaction. */
        maxBatch: z.number().int().positive().max(1000).default(256),
      })
      .prefault({}),
    retention: z
      .strictObject({
        /**
         * How long events, their raw bodies and their dedup keys are kept: at least an hour, since
         * a provider's retry of a pruned event is taken as new, and an event still undelivered
         * when it goes is dead-lettered.
         */
        events: duration.default(7 * 86_400_000).refine(atLeastAnHour, 'expected 1h or more'),
        /** How long an answered key is replayed: at least an hour, for agents' retries. */
        idempotencyKeys: duration.default(86_400_000).refine(atLeastAnHour, 'expected 1h or more'),
        /** How often the pruning job runs. */
        pruneInterval: timer
          .default(3_600_000)
          .refine((ms) => ms >= 1000, 'expected a duration of 1s or more'),
      })
      .prefault({}),
    operators: z
      .record(name, z.strictObject({ role: z.enum(OPERATOR_ROLES), tokenSha256: sha256Hex }))
      .default({}),
    sources: z.record(name, source).default({}),
    agents: z
      .record(
        agentName,
        z.strictObject({
          keySha256: sha256Hex,
          operations: z.array(z.enum(OPERATION_NAMES as [string, ...string[]])).min(1),
          /** Which inbox events the agent is handed, and how (src/dispatch/README.md). */
          deliver: z
            .strictObject({
              /**
               * Push: Airlock POSTs each delivery here, signed as Standard Webhooks with
               * `secret`, and the outcome of each action that waited for an approval. Without
               * it the agent pulls (`POST /v1/events/lease`).
               */
              url: httpUrl.optional(),
              secret: standardWebhooksSecret(env).optional(),
              /**
               * Event types handed to the agent: globs over the type, or its last `:` part,
               * matched ignoring case.
               */
              events: z.array(z.string().trim().min(1).max(200)).default([]),
              /** Only events of these sources; all when omitted. */
              sources: z.array(name).optional(),
              /** Events on one record within this window of the first go together. */
              settle: timer.default(0),
              /** `suppress`: an event caused by an Airlock action is not handed over as news. */
              echoes: z.enum(['suppress', 'deliver']).default('suppress'),
              /**
               * Event types (globs, as `events`) that are news however late they come, never
               * superseded by a newer event of their record: a message, a comment.
               */
              neverSupersede: z.array(z.string().min(1)).default(['*comment*', '*message*']),
              /** Hand-overs of one delivery before it is dead-lettered. */
              maxAttempts: z.number().int().min(1).max(100).default(10),
              /** Allow a private, loopback or link-local `url` (development only). */
              allowPrivateNetwork: z.boolean().default(false),
            })
            .superRefine((value, ctx) => {
              if (value.url !== undefined && value.secret === undefined)
                ctx.addIssue({ code: 'custom', path: ['secret'], message: 'required with url' });
              if (value.url) {
                const problem = urlProblem(value.url, value.allowPrivateNetwork);
                if (problem) ctx.addIssue({ code: 'custom', path: ['url'], message: problem });
              }
            })
            .optional(),
        }),
      )
      .superRefine((agents, ctx) => {
        // One key, one agent: otherwise the key would act as whichever is listed last.
        const byKey = new Map<string, string>();
        for (const [agent, { keySha256 }] of Object.entries(agents)) {
          const other = byKey.get(keySha256.toLowerCase());
          if (other) {
            ctx.addIssue({
              code: 'custom',
              path: [agent, 'keySha256'],
              message: `the same key as agent ${other}`,
            });
          }
          byKey.set(keySha256.toLowerCase(), agent);
        }
      })
      .default({}),
    /** Handing inbox events to agents (src/dispatch/README.md). */
    delivery: z
      .strictObject({
        /** How often new events are taken into agents' queues, and retries looked for. */
        poll: timer.default(100).refine((ms) => ms >= 10, 'expected 10ms or more'),
        /** Per push; a push that takes longer counts as failed and is tried again. */
        timeout: timer.default(10_000),
        /** Deliveries pushed to one agent at once, each of a different record. */
        concurrency: z.number().int().min(1).max(100).default(8),
      })
      .prefault({}),
    connectors: z
      .record(
        name,
        z
          .strictObject({
            kind: z.enum(['sandbox']),
            url: httpUrl,
            /** Per connector call; a call that times out after sending is reconciled, not retried. */
            timeout: timer.default(10_000),
            /**
             * How long after a write was sent it may still land, when its answer was lost (a
             * timeout, a crash): until then, a reconcile that finds no write is not taken as none,
             * so the write is neither sent again nor its action refused. At least `timeout`;
             * by default 60 s, or `timeout` when that is longer.
             */
            lateWriteWindow: timer.optional(),
            /**
             * The record types proposals and deliveries name through this connector (all when
             * absent). Needed when two names are one system, so that a record has one name.
             */
            types: z.array(z.string().min(1).max(100)).min(1).optional(),
          })
          .superRefine((connector, ctx) => {
            // Shorter than the timeout, it would have passed before the answer was given up.
            if (
              connector.lateWriteWindow !== undefined &&
              connector.lateWriteWindow < connector.timeout
            )
              ctx.addIssue({
                code: 'custom',
                path: ['lateWriteWindow'],
                message: `expected at least the timeout (${connector.timeout} ms)`,
              });
          })
          .transform(({ lateWriteWindow, ...connector }) => ({
            ...connector,
            lateWriteWindow:
              lateWriteWindow ?? Math.max(DEFAULT_LATE_WRITE_WINDOW_MS, connector.timeout),
          })),
      )
      .superRefine(checkOneNamePerRecord)
      .default({}),
    /**
     * Run the built-in sandbox CRM + helpdesk in this process (the embedded demo): its webhooks
     * go to this gateway's `/hooks/<helpdeskSource>` and `/hooks/<crmSource>`.
     */
    sandbox: z
      .strictObject({
        enabled: z.boolean().default(false),
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(8081),
        helpdeskSource: name.default('helpdesk'),
        crmSource: name.default('crm'),
        /** Put a few demo contacts, tickets and an order in place at start. */
        seed: z.boolean().default(true),
      })
      .prefault({}),
    /** `GET /metrics` in the Prometheus text format (counting goes on either way). */
    metrics: z.strictObject({ enabled: z.boolean().default(true) }).prefault({}),
    /** OpenTelemetry traces, exported over OTLP/HTTP when `otlpUrl` is set; off otherwise. */
    telemetry: z
      .strictObject({
        /** The collector: `http://host:4318` (`/v1/traces` is added) or the full traces URL. */
        otlpUrl: httpUrl.optional(),
        serviceName: z.string().min(1).default('airlock'),
        /** Share of new traces recorded; a continued trace keeps its caller's decision. */
        sampleRatio: z.number().min(0).max(1).default(1),
      })
      .prefault({}),
    policies: policyRulesSchema,
    /** At most `max` accepted actions of `operations` per record (or agent) within `window`. */
    rateLimits: z
      .array(
        z.strictObject({
          name,
          operations: z.array(z.enum(OPERATION_NAMES as [string, ...string[]])).min(1),
          per: z.enum(['record', 'agent']),
          max: z.number().int().min(1).max(10_000),
          window: duration,
        }),
      )
      .superRefine((limits, ctx) => {
        // A limit's slots are keyed by its name: two of one name would share them.
        const seen = new Set<string>();
        for (const [index, limit] of limits.entries()) {
          if (seen.has(limit.name)) {
            ctx.addIssue({ code: 'custom', path: [index, 'name'], message: 'named twice' });
          }
          seen.add(limit.name);
        }
      })
      .default([]),
    actions: z
      .strictObject({
        /** How long `POST /v1/actions` waits for the outcome before answering 202 queued. */
        wait: timer.default(5_000),
        /** A claim on an action; a worker that dies holding one is replaced when it runs out. */
        lease: timer.default(30_000),
        /** Attempts before an action is dead-lettered. */
        maxAttempts: z.number().int().min(1).max(100).default(8),
        /** Longest pause between attempts, `Retry-After` included. */
        maxBackoff: timer.default(60_000),
        /** Actions executing at once (different records; one record runs one at a time). */
        concurrency: z.number().int().min(1).max(64).default(8),
        /** `discount.apply` above this amount needs a human approval. */
        discountApprovalAbove: z.number().nonnegative().default(50),
      })
      .prefault({}),
    approvals: z
      .strictObject({
        /** A pending approval not decided within this ends as `expired`. */
        ttl: duration.default(24 * 3600_000),
        /**
         * Where new approvals are announced: a POST signed as Standard Webhooks with `secret`
         * (`whsec_…`), carrying the approval as JSON, or Slack's `{ text }` (`format: slack`).
         */
        notify: z
          .strictObject({
            url: httpUrl,
            secret: standardWebhooksSecret(env),
            format: z.enum(['json', 'slack']).default('json'),
          })
          .optional(),
        /** The gateway's address as operators reach it, for links in notifications. */
        publicUrl: httpUrl.optional(),
      })
      .prefault({}),
    /** The operators' web UI at `/ui` (src/dashboard/README.md). */
    dashboard: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** A sign-in lasts this long; signing out or a changed token ends it sooner. */
        sessionTtl: duration.default(12 * 3600_000),
      })
      .prefault({}),
  });
}

export type Config = z.output<ReturnType<typeof configSchema>>;
export type SourceConfig = Config['sources'][string];

/** Values given on the command line; they win over the file and the environment. */
export interface ConfigFlags {
  readonly port?: number | undefined;
}

export interface LoadConfigOptions {
  /** The YAML file; without one, defaults and environment only. */
  readonly file?: string | undefined;
  /** Keys as the file would hold them, instead of a file (for embedding and tests). */
  readonly values?: Record<string, unknown>;
  readonly env?: NodeJS.ProcessEnv;
  readonly flags?: ConfigFlags;
}

/** Variables that look like config overrides but are not. */
/**
 * Reads the config once: defaults < file < environment < flags, validated, frozen.
 * Environment overrides are `AIRLOCK_<KEY>__<KEY>…`, words separated by `_`
 * (`AIRLOCK_RETENTION__IDEMPOTENCY_KEYS=12h`, `AIRLOCK_SERVER__PORT=9000`), values read as YAML
 * (`applyEnvironment`);
 * `AIRLOCK_DATABASE_URL` sets `store.url`. Throws AppError `config-invalid` naming each bad key.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const { raw, schema } = readRaw(options);
  if (options.flags?.port !== undefined) setPath(raw, ['server', 'port'], options.flags.port);
  return parsed(schema, raw, '(root)');
}

/**
 * The `server` section alone, from the file and the environment as `loadConfig` reads them: for
 * a command that needs the gateway's address and none of its secrets (`airlock mcp`), which must
 * not need the secrets' environment variables set.
 */
export function loadServerConfig(options: LoadConfigOptions = {}): Config['server'] {
  const { raw, schema } = readRaw(options);
  return parsed(schema.shape.server, raw.server, 'server');
}

/** The config as given (file or values), with the environment's overrides applied. */
function readRaw(options: LoadConfigOptions) {
  const env = options.env ?? process.env;
  const raw = options.file ? readConfigFile(options.file) : structuredClone(options.values ?? {});
  const schema = configSchema(env);
  applyEnvironment(raw, env, Object.keys(schema.shape));
  return { raw, schema };
}

/** `value` parsed by `schema`, frozen; `config-invalid` naming each key at fault (from `root`). */
function parsed<T>(schema: z.ZodType<T>, value: unknown, root: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const problems = describeIssues(result.error.issues, root);
    throw new AppError('config-invalid', 400, `invalid config:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  return deepFreeze(result.data);
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new AppError('config-invalid', 400, `cannot read config file ${file}`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new AppError('config-invalid', 400, `config file ${file} is not valid YAML: ${reason}`, {
      cause,
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new AppError('config-invalid', 400, `config file ${file} must hold a mapping of keys`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Sets each `AIRLOCK_<KEY>__<KEY>…` whose first key is a section of the config; other
 * `AIRLOCK_` variables (`AIRLOCK_CONFIG`, an agent's own `AIRLOCK_KEY`) are not the config's.
 */
function applyEnvironment(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  sectionNames: readonly string[],
): void {
  if (env.AIRLOCK_DATABASE_URL) setPath(raw, ['store', 'url'], env.AIRLOCK_DATABASE_URL);
  const sections = new Set(sectionNames.map(comparable));
  for (const [variable, value] of Object.entries(env)) {
    // Empty is unset, as shells and container runtimes leave it (not port 0, a random one).
    if (!variable.startsWith('AIRLOCK_') || !value) continue;
    const path = variable.slice('AIRLOCK_'.length).split('__');
    if (!sections.has(comparable(path[0] ?? ''))) continue;
    setPath(raw, path, parseEnvValue(value));
  }
}

/** A key as a variable's segment can spell it: case, `_` and `-` aside (`demo-agent`, `DEMO_AGENT`). */
function comparable(key: string): string {
  return key.toLowerCase().replace(/[-_]/g, '');
}

function camelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, char: string) => char.toUpperCase());
}

function parseEnvValue(value: string): unknown {
  try {
    return parseYaml(value);
  } catch {
    return value;
  }
}

/**
 * Sets a nested key. A segment names an existing key however it is spelled (names of agents and
 * sources are free-form: `DEMO_AGENT` is `demo-agent`); a new key is the segment in camelCase.
 */
function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const [index, segment] of path.entries()) {
    const existing = Object.keys(node).find((key) => comparable(key) === comparable(segment));
    const key = existing ?? camelCase(segment);
    if (index === path.length - 1) {
      node[key] = value;
      return;
    }
    const child = node[key];
    if (typeof child !== 'object' || child === null || Array.isArray(child)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !(value instanceof Secret)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
