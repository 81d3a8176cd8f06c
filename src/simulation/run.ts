import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { OPERATION_NAMES } from '../actions/index.js';
import { loadConfig } from '../config.js';
import { type Gateway, startGateway } from '../main.js';
import { freePort } from '../net/index.js';
import {
  type ChaosOptions,
  createSandbox,
  DEFAULT_CRM_SECRET,
  DEFAULT_HELPDESK_SECRET,
  SANDBOX_TYPES,
  type Sandbox,
} from '../sandbox/index.js';
import { type AgentFaults, DEFAULT_FAULTS } from './agent.js';
import { startAirlockAgent } from './agent-airlock.js';
import { startDirectAgent } from './agent-direct.js';
import { startApprover } from './approver.js';
import { checkRun } from './checker.js';
import type { CheckResult, GroundTruth, ScenarioStep, SeededWorld } from './model.js';
import { playScenario } from './play.js';
import { refusedActions } from './refusals.js';
import { generateSteps, planWorld, seedWorld } from './scenario.js';

/** One run of the simulation: the traffic, the sandbox's chaos, the agent's faults. */
export interface RunOptions {
  readonly seed: number;
  readonly customers: number;
  readonly leads: number;
  /** Over how long the scenario's stories start, ms (at speed 1). */
  readonly durationMs: number;
  /** Time scale of the scenario: 2 plays it twice as fast. Default 1. */
  readonly speed?: number;
  /** The sandbox's chaos, without its seed (the run's seed is used). None: no chaos. */
  readonly chaos?: Omit<ChaosOptions, 'seed'> | undefined;
  readonly faults?: AgentFaults;
  /** Called about once a second while the scenario plays and the run settles. */
  readonly onProgress?: (progress: Progress) => void;
  /**
   * Airlock mode: where its SQLite store and config go (kept after the run, so `airlock why`
   * can look into it). Default: a temporary directory, removed after.
   */
  readonly dataDir?: string;
  /**
   * Airlock mode: told once the gateway serves, with its dashboard and an admin's token to sign
   * in with, so the run can be watched as it plays.
   */
  readonly onDashboard?: (dashboard: { url: string; token: string }) => void;
  /**
   * Airlock mode: awaited after the run is checked and before the gateway and sandbox stop, so
   * the dashboard can be explored over the finished run.
   */
  readonly beforeClose?: (result: ModeResult) => Promise<void>;
}

export interface Progress {
  readonly mode: Mode;
  readonly phase: 'playing' | 'settling';
  readonly steps: number;
  readonly stepsTotal: number;
  /** Airlock mode: what the store says so far. */
  readonly gateway?: GatewayCounts;
}

export interface GatewayCounts {
  readonly events: number;
  readonly duplicatesDropped: number;
  readonly executed: number;
  readonly refusedStale: number;
  readonly pendingApproval: number;
  readonly refusedOther: number;
}

export type Mode = 'direct' | 'airlock';

export interface ModeResult {
  readonly mode: Mode;
  readonly check: CheckResult;
  /** Webhook events the sandbox sent (each once, however often it was delivered). */
  readonly events: number;
  readonly durationMs: number;
  readonly agentStats: unknown;
  readonly chaos: unknown;
  /**
   * Webhooks the sandbox gave up on (every retry failed) or had not delivered when the run
   * ended: events its receiver never had, whatever it did.
   */
  readonly webhooksUndelivered: readonly {
    readonly status: string;
    readonly lastError: string | null;
  }[];
  /** Airlock mode: the gateway's counts, and the config file written for `airlock why`. */
  readonly gateway?: GatewayCounts;
  readonly configFile?: string | undefined;
  /** Airlock mode: a few actions worth asking `airlock why` about. */
  readonly tryWhy?: readonly { readonly what: string; readonly id: string }[];
}

/**
 * How long the run waits for the agent and the gateway to go quiet after the last step. At the
 * benchmark's size the sandbox's webhooks (one at a time per URL) reach the gateway minutes
 * behind the play.
 */
const SETTLE_TIMEOUT_MS = 900_000;
const AGENT_KEY = 'ak_simulated_agent_key';
const OPERATOR_TOKEN = 'simulated-approver-token';
/** The published demo operator of airlock.yaml: a person looking at the run's dashboard. */
const DASHBOARD_TOKEN = 'demo-operator-token';

/** Runs the scenario against the sandbox with the agent writing to it directly. */
export async function runDirect(options: RunOptions): Promise<ModeResult> {
  const started = Date.now();
  const [port, agentPort] = [await freePort(), await freePort()];
  const sandboxUrl = `http://127.0.0.1:${port}`;
  // The sandbox sends its webhooks to the agent, which writes back to the sandbox: both ports
  // are chosen first.
  const agentUrl = `http://127.0.0.1:${agentPort}`;
  const sandbox = createSandbox({
    webhookUrl: { helpdesk: `${agentUrl}/helpdesk`, crm: `${agentUrl}/crm` },
    chaos: chaosOf(options),
    // The check reads every write of the run.
    keep: Number.POSITIVE_INFINITY,
  });
  let agent: Awaited<ReturnType<typeof startDirectAgent>> | undefined;
  try {
    await sandbox.listen(port);
    const world = await seedWorld(sandboxUrl, planWorld(options.seed, options));
    agent = await startDirectAgent({
      sandboxUrl,
      seed: options.seed,
      faults: options.faults ?? DEFAULT_FAULTS,
      world,
      port: agentPort,
    });
    const steps = generateSteps(options.seed, world, options);
    const truth = await play('direct', steps, sandboxUrl, world, options);
    const running = agent;
    await settle(options, 'direct', steps, () => untilStill(sandbox, () => running.idle()));
    return {
      mode: 'direct',
      check: checkRun({ writes: sandbox.state.writes, truth }),
      events: eventsSent(sandbox),
      durationMs: Date.now() - started,
      agentStats: agent.stats,
      chaos: sandbox.chaosReport(),
      webhooksUndelivered: undelivered(sandbox),
    };
  } finally {
    await agent?.close();
    await sandbox.close();
  }
}

/** Runs the same scenario with the same agent going through Airlock (embedded: SQLite). */
export async function runAirlock(options: RunOptions): Promise<ModeResult> {
  const started = Date.now();
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'airlock-simulation-'));
  mkdirSync(dir, { recursive: true });
  const [gatewayPort, sandboxPort] = [await freePort(), await freePort()];
  const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const dbFile = join(dir, `simulation-${options.seed}.db`);
  // A fresh store each run: the last run's keys and approvals would answer this run's agent
  // (the sandbox's ids repeat for a seed), and its events would count again.
  for (const file of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) rmSync(file, { force: true });
  const values = gatewayConfig(dbFile, gatewayPort, sandboxUrl);
  const config = loadConfig({ env: {}, values });
  const sandbox = createSandbox({
    webhookUrl: { helpdesk: `${gatewayUrl}/hooks/helpdesk`, crm: `${gatewayUrl}/hooks/crm` },
    chaos: chaosOf(options),
    keep: Number.POSITIVE_INFINITY,
  });
  let gateway: Gateway | undefined;
  let agent: Awaited<ReturnType<typeof startAirlockAgent>> | undefined;
  let approver: ReturnType<typeof startApprover> | undefined;
  try {
    await sandbox.listen(sandboxPort);
    gateway = await startGateway(config);
    options.onDashboard?.({ url: `${gatewayUrl}/ui`, token: DASHBOARD_TOKEN });
    const world = await seedWorld(sandboxUrl, planWorld(options.seed, options));
    const steps = generateSteps(options.seed, world, options);
    const cancelRequested = cancelsAsked(steps, world);
    approver = startApprover({
      gatewayUrl,
      operatorToken: OPERATOR_TOKEN,
      truth: () => ({ cancelRequested }),
      intervalMs: 100,
    });
    agent = await startAirlockAgent({
      gatewayUrl,
      key: AGENT_KEY,
      seed: options.seed,
      faults: options.faults ?? DEFAULT_FAULTS,
      world,
    });
    const running = gateway;
    const counts = () => gatewayCounts(running);
    const truth = await play('airlock', steps, sandboxUrl, world, options, counts);
    const consumer = agent;
    await settle(
      options,
      'airlock',
      steps,
      () =>
        untilStill(sandbox, async () => {
          await quiet(running);
          await consumer.idle();
          await quiet(running);
        }),
      counts,
    );
    // Refused before acceptance (target-mismatch, key reuse) the agent heard; after, the store has.
    const refused = [...(await refusedActions(running.store)), ...consumer.refused];
    const final = await counts();
    const configFile = options.dataDir ? join(dir, 'airlock-demo.yaml') : undefined;
    if (configFile) writeFileSync(configFile, stringify({ store: values.store, log: values.log }));
    const result: ModeResult = {
      mode: 'airlock',
      check: checkRun({ writes: sandbox.state.writes, truth, refused }),
      events: final.events,
      durationMs: Date.now() - started,
      agentStats: agent.stats,
      chaos: sandbox.chaosReport(),
      webhooksUndelivered: undelivered(sandbox),
      gateway: final,
      configFile,
      tryWhy: await exampleActions(running),
    };
    await agent.close();
    await approver.close();
    await options.beforeClose?.(result);
    return result;
  } finally {
    await agent?.close();
    approver?.close();
    await sandbox.close();
    await gateway?.close();
    if (!options.dataDir) rmSync(dir, { recursive: true, force: true });
  }
}

/** The embedded gateway of a run: the sandbox as helpdesk and CRM, one agent, one approver. */
export function gatewayConfig(dbFile: string, port: number, sandboxUrl: string) {
  const connector = { kind: 'sandbox', url: sandboxUrl, timeout: '2s' };
  return {
    server: { host: '127.0.0.1', port },
    store: { url: `sqlite:${dbFile}` },
    log: { level: 'silent' },
    sources: {
      helpdesk: { scheme: 'zendesk', secrets: [DEFAULT_HELPDESK_SECRET] },
      crm: { scheme: 'hubspot-v3', secrets: [DEFAULT_CRM_SECRET] },
    },
    // One sandbox under two names: each serves its own record types (README "Agents and actions").
    connectors: {
      helpdesk: { ...connector, types: SANDBOX_TYPES.helpdesk },
      crm: { ...connector, types: SANDBOX_TYPES.crm },
    },
    operators: {
      approver: { role: 'approver', tokenSha256: sha256(OPERATOR_TOKEN) },
      demo: { role: 'admin', tokenSha256: sha256(DASHBOARD_TOKEN) },
    },
    agents: {
      'sim-agent': {
        keySha256: sha256(AGENT_KEY),
        operations: [...OPERATION_NAMES],
        deliver: { events: ['*'] },
      },
    },
    rateLimits: [
      {
        name: 'one-welcome-email-per-contact',
        operations: ['email.send'],
        per: 'record',
        max: 1,
        window: '24h',
      },
    ],
    actions: { wait: '3s' },
    delivery: { poll: 50 },
  } satisfies Record<string, unknown>;
}

/** Orders whose customers ask to cancel them in this scenario: what the approver approves. */
function cancelsAsked(steps: readonly ScenarioStep[], world: SeededWorld) {
  const orderOf = new Map(world.customers.map((c) => [c.ticket, c.order]));
  return steps.flatMap((step) =>
    step.kind === 'customer-message' && step.intent === 'ask-to-cancel'
      ? [{ ticket: step.ticket, order: orderOf.get(step.ticket) as string }]
      : [],
  );
}

async function play(
  mode: Mode,
  steps: readonly ScenarioStep[],
  sandboxUrl: string,
  world: SeededWorld,
  options: RunOptions,
  counts?: () => Promise<GatewayCounts>,
): Promise<GroundTruth> {
  let done = 0;
  const report = reporter(options, mode, 'playing', steps, () => done, counts);
  try {
    return await playScenario(steps, {
      sandboxUrl,
      world,
      speed: options.speed ?? 1,
      onStep: () => {
        done += 1;
      },
    });
  } finally {
    report.stop();
  }
}

async function settle(
  options: RunOptions,
  mode: Mode,
  steps: readonly ScenarioStep[],
  wait: () => Promise<void>,
  counts?: () => Promise<GatewayCounts>,
): Promise<void> {
  const report = reporter(options, mode, 'settling', steps, () => steps.length, counts);
  const deadline = new AbortController();
  try {
    await Promise.race([
      wait(),
      // Cancelled once the run settles: neither keeps the process alive nor rejects later.
      sleep(SETTLE_TIMEOUT_MS, undefined, { signal: deadline.signal }).then(() => {
        throw new Error(`the ${mode} run did not settle within ${SETTLE_TIMEOUT_MS / 1000} s`);
      }),
    ]);
  } finally {
    deadline.abort();
    report.stop();
  }
}

function reporter(
  options: RunOptions,
  mode: Mode,
  phase: Progress['phase'],
  steps: readonly ScenarioStep[],
  done: () => number,
  counts?: () => Promise<GatewayCounts>,
): { stop(): void } {
  const onProgress = options.onProgress;
  if (!onProgress) return { stop: () => {} };
  const tick = async () => {
    const gateway = counts ? await counts().catch(() => undefined) : undefined;
    onProgress({ mode, phase, steps: done(), stepsTotal: steps.length, gateway });
  };
  const timer = setInterval(() => void tick(), 1_000);
  return {
    stop: () => {
      clearInterval(timer);
      void tick();
    },
  };
}

/**
 * Waits until the sandbox has sent every webhook and `waitAgent` is done, and nothing new was
 * written meanwhile (an agent's write makes webhooks, which make work, which makes writes).
 */
async function untilStill(sandbox: Sandbox, waitAgent: () => Promise<void>): Promise<void> {
  for (;;) {
    const before = sandbox.state.writeCount;
    await sandbox.webhooksSettled();
    await waitAgent();
    await sleep(300);
    await sandbox.webhooksSettled();
    if (sandbox.state.writeCount === before) return;
  }
}

/** Waits until the gateway has nothing queued, executing, awaiting approval or undelivered. */
async function quiet(gateway: Gateway): Promise<void> {
  for (let calm = 0; calm < 3; ) {
    const open = await gateway.store.db
      .selectFrom('actions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', 'in', ['queued', 'executing', 'pending_approval'])
      .executeTakeFirstOrThrow();
    const undelivered = await gateway.store.db
      .selectFrom('deliveries')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', 'in', ['pending', 'leased'])
      .executeTakeFirstOrThrow();
    calm = Number(open.n) + Number(undelivered.n) === 0 ? calm + 1 : 0;
    await sleep(200);
  }
}

async function gatewayCounts(gateway: Gateway): Promise<GatewayCounts> {
  const db = gateway.store.db;
  const events = await db
    .selectFrom('events')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.coalesce(eb.fn.sum<number>('duplicates'), eb.lit(0)).as('duplicates'),
    ])
    .executeTakeFirstOrThrow();
  const actions = await db
    .selectFrom('actions')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  const count = (statuses: readonly string[]) =>
    actions.filter((row) => statuses.includes(row.status)).reduce((n, row) => n + Number(row.n), 0);
  return {
    events: Number(events.n),
    duplicatesDropped: Number(events.duplicates),
    executed: count(['executed']),
    refusedStale: count(['stale']),
    pendingApproval: count(['pending_approval']),
    refusedOther: count(['denied', 'rejected', 'expired', 'failed', 'dead']),
  };
}

/** One action of each telling kind: an approved cancel, a stale refusal, a rejected misreading. */
async function exampleActions(gateway: Gateway): Promise<{ what: string; id: string }[]> {
  const kinds = [
    { what: 'a cancel a human approved', operation: 'order.cancel', status: 'executed' },
    {
      what: 'a cancel a human rejected (misread intent)',
      operation: 'order.cancel',
      status: 'rejected',
    },
    { what: 'a write refused as stale', operation: null, status: 'stale' },
    { what: 'a reply executed', operation: 'ticket.reply', status: 'executed' },
  ];
  const found: { what: string; id: string }[] = [];
  for (const kind of kinds) {
    let query = gateway.store.db
      .selectFrom('actions')
      .select('id')
      .where('status', '=', kind.status as 'executed')
      .orderBy('id')
      .limit(1);
    if (kind.operation) query = query.where('operation', '=', kind.operation);
    const row = await query.executeTakeFirst();
    if (row) found.push({ what: kind.what, id: row.id });
  }
  return found;
}

/** Webhook events the sandbox sent: one per event, however many attempts or copies. */
function eventsSent(sandbox: Sandbox): number {
  return sandbox.deliveries().length;
}

function chaosOf(options: RunOptions): ChaosOptions | undefined {
  return options.chaos ? { ...options.chaos, seed: options.seed } : undefined;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The sandbox's webhooks that never reached their receiver (given up on, or still pending). */
function undelivered(sandbox: ReturnType<typeof createSandbox>) {
  return sandbox
    .deliveries()
    .filter((delivery) => delivery.status !== 'delivered')
    .map(({ status, lastError }) => ({ status, lastError }));
}
