import type { FastifyInstance } from 'fastify';
import {
  ActionWorker,
  actionLogFields,
  CircuitBreakers,
  type ProposeDeps,
  rateLimitRules,
} from './actions/index.js';
import { ActivityTally, countingMetrics } from './activity/index.js';
import {
  type ApprovalDeps,
  createApprovalNotifier,
  getApproval,
  startApprovalSweeper,
} from './approvals/index.js';
import { type Config, connectorAt, DEFAULT_LATE_WRITE_WINDOW_MS } from './config.js';
import { type Connector, createSandboxConnector, serveTypes } from './connectors/index.js';
import { Dispatcher } from './dispatch/index.js';
import { AppError } from './errors.js';
import { GATEWAY_OPS_MODULE, gatewayOps } from './gateway-ops.js';
import { createServer } from './http/index.js';
import { createIngestor, type Ingestor } from './ingest/index.js';
import { createLogger, type Logger } from './logging.js';
import { createMetrics, type Metrics, measureConnector, type QueueDepth } from './metrics/index.js';
import { createOutcomeNotifier } from './notify/action-outcome.js';
import { compilePolicies } from './policy/index.js';
import { type PruneCounts, pruneStore } from './prune.js';
import { createSandbox, DEMO_RECORDS, type Sandbox } from './sandbox/index.js';
import { createOpRunner, openStore, type Store, startCheckpointer } from './store/index.js';
import {
  createTelemetry,
  TELEMETRY_OFF,
  type Telemetry,
  traceConnector,
} from './telemetry/index.js';

/** Every module of a gateway over one store, wired; not listening. */
export interface GatewayModules {
  readonly app: FastifyInstance;
  readonly ingestor: Ingestor;
  readonly worker: ActionWorker;
  /** Hands inbox events to the agents that subscribe to them. */
  readonly dispatcher: Dispatcher;
  readonly connectors: ReadonlyMap<string, Connector>;
  /** Counted whether or not `GET /metrics` is enabled. */
  readonly metrics: Metrics;
  /** What proposing needs: for undo (`undoAction`), which proposes through the same pipeline. */
  readonly propose: ProposeDeps;
  /** Deletes what is past its retention at `at` (default: now), batch by batch through the writer. */
  prune(at?: number): Promise<PruneCounts>;
  /** Stops the worker, lets accepted requests commit; the store stays open. */
  close(): Promise<void>;
}

/** The connector of each system in the config, each call traced when `telemetry` is on. */
export function createConnectors(
  config: Config,
  telemetry: Telemetry = TELEMETRY_OFF,
  metrics?: Metrics,
): Map<string, Connector> {
  // Outermost, the record types each name serves: a refusal there asks nothing of the system,
  // so it is neither a traced call nor a connector error.
  return serveTypes(
    new Map(
      Object.entries(config.connectors).map(([system, options]) => {
        const sandbox = createSandboxConnector({
          system,
          url: options.url,
          timeoutMs: options.timeout,
        });
        const traced = traceConnector(sandbox, system, telemetry);
        return [
          system,
          {
            connector: metrics ? measureConnector(traced, system, metrics) : traced,
            at: connectorAt(options),
            types: options.types ?? null,
          },
        ];
      }),
    ),
  );
}

/** Actions waiting or in flight, for the queue-depth gauge: one count over an index per scrape. */
async function readQueueDepth(store: Store): Promise<QueueDepth> {
  const rows = await store.db
    .selectFrom('actions')
    .select((eb) => ['status', eb.fn.countAll<number | string>().as('n')])
    .where('status', 'in', ['queued', 'executing', 'pending_approval'])
    .groupBy('status')
    .execute();
  // PostgreSQL answers count(*) as a bigint, which pg hands over as a string.
  const count = (status: string) => Number(rows.find((row) => row.status === status)?.n ?? 0);
  return {
    queued: count('queued'),
    executing: count('executing'),
    pendingApproval: count('pending_approval'),
  };
}

/** The composition root: config + store → modules. Used by `airlock start` and the tests. */
export async function assembleGateway(
  config: Config,
  store: Store,
  options: {
    now?: () => number;
    /** False for a CLI command that proposes once: its process executes nothing else. */
    startWorker?: boolean;
    /** Instead of one on stdout from `config.log` (tests read the lines). */
    log?: Logger;
    /** Instead of one from `config.telemetry` (tests: an in-memory exporter); the caller shuts it down. */
    telemetry?: Telemetry;
  } = {},
): Promise<GatewayModules> {
  // The clock of every decision; tests pass a fake one (approval expiry).
  const now = options.now ?? (() => Date.now());
  // First, so every module built below can be handed them.
  const log = options.log ?? createLogger(config.log);
  // An agent with a deliver URL hears how its actions that waited for a human ended.
  const notifyOutcome = createOutcomeNotifier(store, config.agents, (action, reason) =>
    log.error({ action_id: action, reason }, 'gave up telling an agent an outcome'),
  );
  const tellAgent = (actionId: string) => {
    notifyOutcome(actionId).catch((err: unknown) =>
      log.error({ err, action_id: actionId }, 'telling an agent an outcome failed'),
    );
  };
  const telemetry =
    options.telemetry ??
    (await createTelemetry(config.telemetry, {
      onExportError: (err) => log.warn({ err }, 'exporting spans failed; dropping them'),
    }));
  const prometheus = createMetrics();
  const ops = createOpRunner(store, gatewayOps, GATEWAY_OPS_MODULE, {
    observe: prometheus.observeStoreOp,
  });
  // What Prometheus counts and nothing stores, kept for the dashboard (src/activity/README.md).
  const activity = new ActivityTally(ops, {
    onError: (err) => log.warn({ err }, 'recording activity counts failed; keeping them'),
  });
  const metrics = countingMetrics(prometheus, activity);
  metrics.setQueueDepth(() => readQueueDepth(store));
  const connectors = createConnectors(config, telemetry, metrics);
  const policies = compilePolicies(config.policies);
  const limits = { discountApprovalAbove: config.actions.discountApprovalAbove };
  const stopCheckpointer = startCheckpointer(store);
  const ingestor = createIngestor({ store, config, metrics, telemetry, log });
  const worker = new ActionWorker(
    {
      store,
      ops,
      connectors,
      policies,
      limits,
      breakers: new CircuitBreakers({ now }),
      retry: { maxAttempts: config.actions.maxAttempts, maxBackoffMs: config.actions.maxBackoff },
      // Counted from `sent_at`, stamped before the connector's calls: a write that reads the
      // record first (read-compare-write) leaves up to one timeout later.
      lateWriteMs: (system) =>
        (config.connectors[system]?.lateWriteWindow ?? DEFAULT_LATE_WRITE_WINDOW_MS) +
        (config.connectors[system]?.timeout ?? 0),
      metrics,
      telemetry,
      log,
      onApprovedSettled: tellAgent,
      now,
    },
    {
      leaseMs: config.actions.lease,
      concurrency: config.actions.concurrency,
      onError: (err, action) =>
        log.error({ err, ...(action ? actionLogFields(action) : {}) }, 'action worker failed'),
    },
  );
  const propose: ProposeDeps = {
    store,
    ops,
    connectors,
    policies,
    limits,
    rateLimits: rateLimitRules(config.rateLimits),
    worker,
    waitMs: config.actions.wait,
    // After this a silent request's key may be taken over (a client retrying after a crash): it
    // resumes the action the key names, never accepts a second one (claimKey, unique index).
    keyLockMs: config.actions.lease,
    approvalTtlMs: config.approvals.ttl,
    metrics,
    log,
    telemetry,
    onApprovalRequested: (id) => {
      if (!notifyApproval) return;
      getApproval({ store }, id).then(notifyApproval, (err: unknown) =>
        log.error({ err, approval: id }, 'approval notification failed'),
      );
    },
    now,
  };
  const approvals: ApprovalDeps = {
    store,
    ops,
    connectors,
    policies,
    limits,
    now,
    metrics,
    onQueued: () => worker.notify(),
    onActionEnded: tellAgent,
  };
  const notify = config.approvals.notify;
  const notifyApproval =
    notify &&
    createApprovalNotifier(
      notify,
      config.approvals.publicUrl,
      (id) => (config.dashboard.enabled ? `/ui/approvals/${id}` : `/v1/approvals/${id}`),
      (approval, reason) => log.error({ approval, reason }, 'gave up announcing an approval'),
    );
  const stopSweeper = startApprovalSweeper({
    store,
    ops,
    now,
    metrics,
    onExpired: tellAgent,
    onError: (err) => log.error({ err }, 'expiring approvals failed'),
  });
  const dispatcher = new Dispatcher(
    { store, ops, connectors, now },
    {
      agents: config.agents,
      delivery: config.delivery,
      pushLeaseMs:
        Math.max(0, ...Object.values(config.connectors).map((c) => c.timeout)) +
        config.delivery.timeout +
        2_000,
      log,
    },
  );
  // Before the first request: a new agent's queue starts with the events received after now.
  await dispatcher.catchUp();
  const app = await createServer({
    config,
    log,
    store,
    ingestor,
    propose,
    approvals,
    dispatcher,
    metrics,
    sessionOps: ops,
  });
  let closing: Promise<void> | undefined;
  if (options.startWorker !== false) {
    worker.start();
    dispatcher.start();
    activity.start();
  }
  return {
    app,
    ingestor,
    worker,
    dispatcher,
    connectors,
    metrics,
    propose,
    prune: (at = now()) => pruneStore(ops, config.retention, store.dialect, at),
    // Once: a second call waits for the first rather than stopping stopped threads.
    close: () => {
      closing ??= (async () => {
        await app.close();
        await worker.stop();
        await dispatcher.stop();
        await stopSweeper();
        // After everything that counts, before the writer it flushes through stops.
        await activity.stop();
        await ops.close();
        await ingestor.close();
        await stopCheckpointer();
        // Last, so the spans of the attempts that just ended go out too.
        if (!options.telemetry) await telemetry.shutdown();
      })();
      return closing;
    },
  };
}

/** A running gateway. */
export interface Gateway {
  readonly app: FastifyInstance;
  readonly store: Store;
  /** `http://host:port` it listens on. */
  readonly url: string;
  /** Stops taking requests, lets accepted ones commit, then closes the store. */
  close(): Promise<void>;
}

/** Opens the store, assembles the gateway and listens. */
export async function startGateway(config: Config): Promise<Gateway> {
  const store = await openStore(config.store.url, { poolSize: config.store.poolSize });
  let modules: GatewayModules;
  try {
    modules = await assembleGateway(config, store);
  } catch (error) {
    await store.close();
    throw error;
  }
  const { app } = modules;
  const stopPruning = schedulePruning(() => modules.prune(), config, app);
  let sandbox: Sandbox | undefined;
  let url: string;
  try {
    const { host, port } = config.server;
    await explainListen('the gateway', 'server.port (or --port)', host, port, () =>
      app.listen({ host, port }),
    );
    const address = app.server.address();
    const bound = typeof address === 'object' && address ? address.port : port;
    url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
    sandbox = config.sandbox.enabled ? await startSandbox(config, url) : undefined;
  } catch (error) {
    stopPruning();
    await modules.close();
    await store.close();
    throw error;
  }
  if (sandbox) app.log.info({ url: sandbox.url }, 'built-in sandbox listening');
  if (config.dashboard.enabled) app.log.info({ url: `${url}/ui` }, 'dashboard for operators');
  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    url,
    close: () => {
      closing ??= (async () => {
        stopPruning();
        await sandbox?.close();
        await modules.close();
        await store.close();
      })();
      return closing;
    },
  };
}

/** The built-in sandbox, sending its webhooks to this gateway. */
async function startSandbox(config: Config, gatewayUrl: string): Promise<Sandbox> {
  const sandbox = createSandbox(sandboxWebhooks(config, gatewayUrl));

  if (config.sandbox.seed) sandbox.seed(DEMO_RECORDS);
  const { host, port } = config.sandbox;
  await explainListen('the built-in sandbox', 'sandbox.port', host, port, () =>
    sandbox.listen(port, host),
  );
  return sandbox;
}

/**
 * Where a sandbox sends its webhooks to the gateway at `gatewayUrl` (`sandbox.helpdeskSource`
 * and `sandbox.crmSource` of the config), each signed with the first secret of that source, so
 * the gateway takes them; a source the config does not have gets the sandbox's default secret.
 */
export function sandboxWebhooks(config: Config, gatewayUrl: string) {
  const { helpdeskSource, crmSource } = config.sandbox;
  return {
    webhookUrl: {
      helpdesk: `${gatewayUrl}/hooks/${helpdeskSource}`,
      crm: `${gatewayUrl}/hooks/${crmSource}`,
    },
    helpdeskSecret: config.sources[helpdeskSource]?.secrets[0]?.reveal(),
    crmSecret: config.sources[crmSource]?.secrets[0]?.reveal(),
  };
}

/**
 * The URL a process on this machine reaches the configured gateway at: its `server.host`, or
 * loopback for a wildcard address (`0.0.0.0`, `::`), which no one can connect to.
 */
export function configuredGatewayUrl(server: Config['server']): string {
  const { host, port } = server;
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * Runs `listen`; a port taken is `port-in-use`, naming what wanted it and the key that moves it,
 * and an address this machine cannot listen on (not its own, no such host, not allowed) is
 * `listen-failed`, naming the address.
 */
export async function explainListen(
  what: string,
  key: string,
  host: string,
  port: number,
  listen: () => Promise<unknown>,
): Promise<void> {
  try {
    await listen();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new AppError(
        'port-in-use',
        503,
        `${what} cannot listen on ${host}:${port}: the port is taken; choose another with ${key}`,
        { cause: error },
      );
    }
    const reason = LISTEN_FAILURES[code ?? ''];
    if (!reason) throw error;
    throw new AppError(
      'listen-failed',
      503,
      `${what} cannot listen on ${host}:${port}: ${reason}`,
      {
        cause: error,
      },
    );
  }
}

const LISTEN_FAILURES: Record<string, string> = {
  EADDRNOTAVAIL: 'the address is not one of this machine’s',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be resolved',
  EACCES: 'not allowed (a port under 1024 needs privileges)',
};

/** Prunes what is past its retention (`pruneStore`) a second after start and every `pruneInterval`. */
function schedulePruning(
  prune: () => Promise<PruneCounts>,
  config: Config,
  app: FastifyInstance,
): () => void {
  const run = async () => {
    try {
      const pruned = await prune();
      if (Object.values(pruned).some((count) => count > 0)) app.log.info({ pruned }, 'pruned');
    } catch (err) {
      app.log.error({ err }, 'pruning failed; will retry');
    }
  };
  const first = setTimeout(run, 1_000);
  const timer = setInterval(run, config.retention.pruneInterval);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
