import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { ProposeDeps } from '../actions/index.js';
import type { ApprovalDeps } from '../approvals/index.js';
import type { Config } from '../config.js';
import { MAX_RECORD_ID_LENGTH } from '../connectors/index.js';
import { dashboardErrorPage, registerDashboard, type SessionOps } from '../dashboard/index.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import { AppError } from '../errors.js';
import type { Ingestor } from '../ingest/index.js';
import type { Logger } from '../logging.js';
import { registerMcpRoute } from '../mcp/index.js';
import { type Metrics, registerMetricsRoute } from '../metrics/index.js';
import type { Store } from '../store/index.js';
import { registerActionsRoutes } from './actions-routes.js';
import { registerApprovalsRoutes } from './approvals-routes.js';
import { registerDeliveryRoutes } from './delivery-routes.js';
import { registerEventsRoutes } from './events-routes.js';
import { registerHooksRoute } from './hooks-route.js';
import { registerOpenApiRoute } from './openapi.js';
import { answerClientError, replyWithError } from './problem.js';
import { registerTraceRoutes } from './trace-routes.js';

export interface ServerDeps {
  readonly config: Config;
  /** The gateway's logger (`createLogger`). */
  readonly log: Logger;
  readonly store: Store;
  readonly ingestor: Ingestor;
  readonly propose: ProposeDeps;
  readonly approvals: ApprovalDeps;
  /** Hands events to agents: the lease/ack/nack routes. */
  readonly dispatcher: Dispatcher;
  /** Served at `GET /metrics` when `config.metrics.enabled`. */
  readonly metrics?: Metrics;
  /** The dashboard's sign-ins and sign-outs. */
  readonly sessionOps: SessionOps;
}

/** The Fastify app with every route; not listening yet. */
export async function createServer({
  config,
  log,
  store,
  ingestor,
  propose,
  approvals,
  dispatcher,
  metrics,
  sessionOps,
}: ServerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    trustProxy: config.server.trustProxy,
    // Operator and agent APIs take small JSON; webhooks set their own limit.
    bodyLimit: 256 * 1024,
    // Fastify sets the server's requestTimeout after creating it (0, none, by default); Node
    // also needs it at creation, where it caps the headers' timeout (60 s), which must not be
    // longer. Node looks for requests past their time every 30 s; a short timeout is kept to
    // within a quarter of itself.
    requestTimeout: config.server.requestTimeout,
    http: {
      requestTimeout: config.server.requestTimeout,
      connectionsCheckingInterval: Math.min(30_000, Math.ceil(config.server.requestTimeout / 4)),
    },
    return503OnClosing: true,
    // One log line per request costs more than the ingest itself at thousands per second;
    // failures are logged where they are answered.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    // `/v1/records/:system/:type/:id` takes any id a proposal's target may have.
    routerOptions: { maxParamLength: MAX_RECORD_ID_LENGTH },
    // What the router refuses before any route (a path that does not decode, a param over the
    // limit) is answered like every other error: as problem+json, or under /ui as the
    // dashboard's error page.
    frameworkErrors: (error, request, reply) =>
      config.dashboard.enabled && /^\/ui(?:[/?]|$)/.test(request.url)
        ? dashboardErrorPage(error, request, reply)
        : replyWithError(error, request, reply),
    clientErrorHandler: answerClientError,
  });
  app.setErrorHandler((error, request, reply) => replyWithError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    replyWithError(
      new AppError('not-found', 404, `no route ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  );

  // Ids come from the path; one with a NUL would reach PostgreSQL, which cannot hold it in text
  // and fails the query: a client's mistake must be a 400, not a 500.
  app.addHook('onRequest', async (request) => {
    if (/%00/i.test(request.url)) {
      throw new AppError('bad-url', 400, 'the URL contains an encoded NUL character');
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => {
    try {
      await store.ping();
    } catch (cause) {
      throw new AppError('store-unavailable', 503, 'the store does not answer', { cause });
    }
    return { status: 'ready' };
  });
  await registerHooksRoute(app, { ingestor, config });
  registerEventsRoutes(app, { store, config, dispatcher });
  registerActionsRoutes(app, { store, config, propose });
  registerDeliveryRoutes(app, { store, config, dispatcher, connectors: propose.connectors });
  registerApprovalsRoutes(app, { approvals, config });
  registerTraceRoutes(app, { store, config });
  registerMcpRoute(app, { config, propose });
  registerOpenApiRoute(app);
  if (metrics && config.metrics.enabled) registerMetricsRoute(app, { metrics });
  if (config.dashboard.enabled) {
    await registerDashboard(app, { store, config, approvals, propose, dispatcher, sessionOps });
    app.get('/', (_request, reply) => reply.redirect('/ui', 303));
  }
  return app;
}
