import Fastify, { type FastifyInstance } from 'fastify';
import { MAX_RECORD_ID_LENGTH } from '../connectors/index.js';
import { AppError } from '../errors.js';
import { registerAdminRoutes } from './admin-routes.js';
import { type ChaosOptions, type ChaosReport, createChaos, reportChaos } from './chaos.js';
import { registerCrmRoutes } from './crm-routes.js';
import { createFaultTable, type FaultTable } from './faults.js';
import { registerHelpdeskRoutes } from './helpdesk-routes.js';
import { createIdempotencyCache } from './idempotency.js';
import { registerOrderRoutes } from './order-routes.js';
import { replyWithProblem } from './problem.js';
import { type SeedInput, type SeedResult, seedRecords } from './seed.js';
import { createState, type SandboxState } from './state.js';
import { createWebhookSender, type Delivery } from './webhook-delivery.js';
import { emitWebhooks, type WebhookUrls } from './webhooks.js';

/** The Zendesk signing secret when none is given. Published: for loopback only. */
export const DEFAULT_HELPDESK_SECRET = 'sandbox-helpdesk-secret';
/** The HubSpot client secret when none is given. Published: for loopback only. */
export const DEFAULT_CRM_SECRET = 'sandbox-crm-secret';

/** How to build a sandbox; every option has a default. */
export interface SandboxOptions {
  /**
   * Where webhooks go: one URL for both channels, or `{ helpdesk, crm }` (Airlock's
   * `/hooks/<source>` for a `zendesk` and a `hubspot-v3` source). None: no webhooks.
   */
  readonly webhookUrl?: WebhookUrls | undefined;
  /** Zendesk signing secret for helpdesk webhooks. Default `DEFAULT_HELPDESK_SECRET`. */
  readonly helpdeskSecret?: string | undefined;
  /** HubSpot client secret for CRM and order webhooks. Default `DEFAULT_CRM_SECRET`. */
  readonly crmSecret?: string | undefined;
  /** The clock, epoch ms: timestamps, idempotency-key expiry, webhook signatures. */
  readonly now?: (() => number) | undefined;
  /** Waits between webhook attempts, ms; one retry per entry. Default 200, 1000, 5000. */
  readonly webhookRetryDelaysMs?: readonly number[] | undefined;
  /** Fastify log level; default silent. */
  readonly logLevel?: string | undefined;
  /**
   * Seeded misbehaviour of webhooks and the API (README "Chaos"). Default none. A bad option
   * throws 400 `invalid-chaos`.
   */
  readonly chaos?: ChaosOptions | undefined;
  /**
   * How many of the latest applied writes (`/_writes`) and webhook deliveries (`/_deliveries`)
   * are kept; older ones are let go, so a long run stays in bounded memory. Default 10,000.
   */
  readonly keep?: number | undefined;
}

/** A running (or ready to run) sandbox CRM + helpdesk + orders system. */
export interface Sandbox {
  readonly app: FastifyInstance;
  /** Every record and applied write, for tests to look at directly. */
  readonly state: SandboxState;
  readonly faults: FaultTable;
  /** `http://host:port` once listening, else null. */
  readonly url: string | null;
  /** Puts records in place without writes or webhooks (same as `POST /_seed`). */
  seed(input: SeedInput): SeedResult;
  /** Resolves once every webhook so far is delivered or has failed for good. */
  webhooksSettled(): Promise<void>;
  deliveries(): Delivery[];
  /** The chaos settings and what was injected so far (same as `GET /_chaos`). */
  chaosReport(): ChaosReport;
  /** Listens on `port` (0: any free one) and `host` (default 127.0.0.1); returns the URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Releases held-back answers, stops webhook retries, closes the server. */
  close(): Promise<void>;
}

/** Builds the sandbox: a Fastify app over in-memory state; `listen()` starts serving. */
export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const now = options.now ?? Date.now;
  const { keep } = options;
  if (keep !== undefined && !(keep === Number.POSITIVE_INFINITY || Number.isSafeInteger(keep))) {
    throw new RangeError(`keep must be a whole number of writes, or Infinity; got ${keep}`);
  }
  if (keep !== undefined && keep < 1) {
    throw new RangeError(`keep must be at least 1; got ${keep}`);
  }
  const state = createState(now, keep);
  const chaos = options.chaos === undefined ? null : createChaos(options.chaos);
  const faults = createFaultTable(chaos);
  const sender = createWebhookSender({
    retryDelaysMs: options.webhookRetryDelaysMs,
    chaos,
    keep,
  });
  emitWebhooks(state, sender, {
    urls: options.webhookUrl,
    helpdeskSecret: options.helpdeskSecret ?? DEFAULT_HELPDESK_SECRET,
    crmSecret: options.crmSecret ?? DEFAULT_CRM_SECRET,
  });

  const app = Fastify({
    logger: { level: options.logLevel ?? 'silent' },
    // A held-back answer must not keep close() waiting on its connection.
    forceCloseConnections: true,
    // Ids and unique values (`airlock_key`: agent and key, up to 320) come in the path: take any
    // id Airlock accepts in a target, not Fastify's default of 100.
    routerOptions: { maxParamLength: MAX_RECORD_ID_LENGTH },
    // A path the router cannot decode or a param over the limit: problem+json too.
    frameworkErrors: (error, request, reply) => replyWithProblem(error, request, reply),
  });
  app.setErrorHandler((error, request, reply) => replyWithProblem(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    replyWithProblem(
      new AppError('not-found', 404, `no route ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  );
  registerHelpdeskRoutes(app, {
    state,
    faults,
    idempotency: createIdempotencyCache(now),
  });
  registerCrmRoutes(app, { state, faults });
  registerOrderRoutes(app, { state, faults });
  registerAdminRoutes(app, { state, faults, sender, chaos });

  let url: string | null = null;
  let closing: Promise<void> | undefined;
  return {
    app,
    state,
    faults,
    get url() {
      return url;
    },
    seed: (input) => seedRecords(state, input),
    webhooksSettled: () => sender.settled(),
    deliveries: () => sender.list(),
    chaosReport: () => reportChaos(chaos),
    async listen(port = 0, host = '127.0.0.1') {
      await app.listen({ port, host });
      const address = app.server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
      return url;
    },
    close() {
      closing ??= (async () => {
        faults.release();
        await app.close();
        await sender.close();
      })();
      return closing;
    },
  };
}
