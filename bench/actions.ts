// npm run bench:actions — proposals through the whole pipeline against the sandbox's own write
// rate, same run.
//
// Starts two sandboxes (`bench/sandbox-server.js`, subprocesses, 2000 tickets each) and the built
// `airlock start` (SQLite file, the second sandbox as connector `helpdesk`), all on loopback.
// Every request is a ticket status change on its current revision: the tickets sit in a queue, a
// request takes one and gives it back with the revision its answer reports, so no ticket has two
// requests in flight and every basis is current. Directly: `PUT /api/tickets/:id {status,
// expectedRevision}`. Through Airlock: `POST /v1/actions` `ticket.set_status` with
// `basis.revision` and a fresh `Idempotency-Key` (auth, idempotency key, read, basis check,
// policy, the accepted action with its outbox row, write, outcome).
//
// 1. Saturation (autocannon, closed loops): the sandbox directly, then the bare proxy
//    (`bare-proxy.js`: the same proposals, answered with the same read and write and nothing
//    else, the floor of any gateway that reads before it writes), then Airlock. Each at 50
//    connections (`BENCH_CONNECTIONS`), then 100 and 200, while the rate grows by a twentieth
//    or more; the last run that did counts. actions_per_s counts only 200 `executed` answers.
//    How long the gateway's main thread and its busiest other thread ran and waited for a core
//    in each of Airlock's runs (as in 2).
// 2. Half that rate (an open loop, `paced.ts`): the sandbox directly, then a second bare proxy,
//    then Airlock, all on the sandbox behind Airlock (each on tickets of its own), so that they
//    meet a sandbox that has served as many writes. (The first sandbox has served hundreds of
//    thousands of writes by then, each kept in its memory, and its full garbage collections put
//    the direct p99 at up to 184 ms, Airlock's added p99 below zero.) added_p99_ms is Airlock's
//    p99 less the direct one; bare_proxy_added_p99_ms the bare proxy's: what the read before the
//    write and the hop through a process add at that rate on this machine, before any work of a
//    gateway's own.
//    From the gateway's `/metrics`, where the time of a proposal went at that rate: the two
//    calls to the sandbox, the two durable store writes (the accepted action with its outbox
//    row, then its outcome) and the rest. From `/proc/<pid>/task/*/schedstat`, how long the
//    gateway's main thread and its busiest other thread (the SQLite writer) ran, and how long
//    they were ready to run but waited for a core; and the longest stall of this bench's event
//    loop and of the gateway's (from its `/metrics`).
// 3. Beside webhooks: proposals at a sixth of the saturation rate while signed webhooks arrive
//    at 2,000 a second (`BENCH_WEBHOOKS_PER_S`), both open loops, after 2 s of both together:
//    the inbox's batches and the actions' share the writer thread. The same waits and stalls.
// 4. Every write in Airlock's sandbox is one executed action in the store, none twice, and every
//    `executed` answer is among them.
// Last line: `actions: actions_per_s=… p50_ms=… p99_ms=… added_p99_ms=… sandbox_direct_per_s=…
// bare_proxy_per_s=… bare_proxy_added_p99_ms=… gateway_cpu_ms=… connections=…`: the gateway's CPU
// milliseconds per executed action, the latencies and the connections of Airlock's counted
// saturation run.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { freePort, startGatewayProcess, writeConfig } from '../test/helpers/gateway-process.js';
import {
  cpuSeconds,
  type PacedResult,
  paced,
  percentile,
  type ThreadTime,
  threadTimes,
} from './paced.js';
import { spawnNode, waitForHttp } from './process.js';
import { DEMO_SOURCE, signedRequest } from './webhooks.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const TICKETS = Number(process.env.BENCH_TICKETS ?? 2000);
const WARMUP_SECONDS = 2;
const WEBHOOKS_PER_S = Number(process.env.BENCH_WEBHOOKS_PER_S ?? 2000);
const AGENT_KEY = 'ak_bench_actions_support_bot';

type Status = 'new' | 'open' | 'pending';

/** A ticket as the load generator knows it: the revision and status the last answer reported. */
interface Ticket {
  readonly id: string;
  revision: number;
  status: Status;
}

/** Tickets not in flight, oldest answer first. */
class TicketQueue {
  readonly #free: Ticket[];
  /** Every ticket's id. */
  readonly ids: ReadonlySet<string>;
  constructor(tickets: Ticket[]) {
    this.#free = [...tickets];
    this.ids = new Set(tickets.map((ticket) => ticket.id));
  }
  take(): Ticket {
    const ticket = this.#free.shift();
    if (!ticket) throw new Error('every ticket is in flight: raise BENCH_TICKETS');
    return ticket;
  }
  give(ticket: Ticket): void {
    this.#free.push(ticket);
  }
}

/** Answers of one run, by kind (`200 executed`, `409 stale-basis`, …). */
class Tally {
  ok = 0;
  readonly kinds = new Map<string, number>();
  count(kind: string, ok: boolean): void {
    if (ok) this.ok += 1;
    this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1);
  }
  toString(): string {
    return [...this.kinds].map(([kind, n]) => `${kind}: ${n}`).join(', ') || 'none';
  }
}

interface Built {
  method: 'PUT' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** How one side (the sandbox directly, or Airlock) is asked for a status change. */
interface Side {
  readonly name: string;
  readonly url: string;
  readonly tickets: TicketQueue;
  build(ticket: Ticket): Built;
  /** Updates the ticket from the answer; true for a write that was done. */
  settle(ticket: Ticket, status: number, body: string, tally: Tally): void;
}

const nextStatus = (ticket: Ticket): Status => (ticket.status === 'open' ? 'pending' : 'open');

function parse(body: string): Record<string, unknown> | null {
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function sandboxSide(url: string, tickets: TicketQueue): Side {
  return {
    name: 'sandbox directly',
    url,
    tickets,
    build: (ticket) => ({
      method: 'PUT',
      path: `/api/tickets/${ticket.id}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: nextStatus(ticket), expectedRevision: ticket.revision }),
    }),
    settle(ticket, status, body, tally) {
      const answer = parse(body);
      const written = answer?.ticket as { revision: number; status: Status } | undefined;
      if (status === 200 && written) {
        ticket.revision = written.revision;
        ticket.status = written.status;
      } else if (typeof answer?.currentRevision === 'number') {
        ticket.revision = answer.currentRevision;
      }
      tally.count(`${status}`, status === 200);
    },
  };
}

/** Proposals to Airlock, or to the bare proxy (`bare-proxy.js`), which takes the same requests. */
function airlockSide(
  url: string,
  tickets: TicketQueue,
  executed: Set<string>,
  name = 'through Airlock',
): Side {
  const run = randomUUID().slice(0, 8);
  let sequence = 0;
  return {
    name,
    url,
    tickets,
    build(ticket) {
      sequence += 1;
      return {
        method: 'POST',
        path: '/v1/actions',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${AGENT_KEY}`,
          'idempotency-key': `bench-${run}-${sequence}`,
        },
        body: JSON.stringify({
          operation: 'ticket.set_status',
          target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
          params: { status: nextStatus(ticket) },
          basis: { revision: String(ticket.revision) },
          decision: { model: 'bench', summary: 'load test' },
        }),
      };
    },
    settle(ticket, status, body, tally) {
      const answer = parse(body);
      const effect = answer?.effect as { revision: string; after: { status: Status } } | null;
      if (status === 200 && answer?.status === 'executed' && effect) {
        executed.add(String(answer.action));
        ticket.revision = Number(effect.revision);
        ticket.status = effect.after.status;
        tally.count('200 executed', true);
        return;
      }
      if (status === 202) {
        // Still queued: assume it will land, else the next proposal is refused as stale and
        // corrects the revision.
        ticket.revision += 1;
        ticket.status = nextStatus(ticket);
      } else if (answer?.currentRevision !== undefined) {
        ticket.revision = Number(answer.currentRevision);
        const current = answer.current as { status?: Status } | undefined;
        if (current?.status) ticket.status = current.status;
      }
      const type = typeof answer?.type === 'string' ? answer.type.split(':').pop() : answer?.status;
      tally.count(`${status} ${type ?? ''}`.trim(), false);
    },
  };
}

/** A run's answers that count (a write done). */
const okCount = (run: { tally: Tally }) => run.tally.ok;

/** A closed loop: `connections` connections, each sending as soon as it is answered. */
async function saturate(
  side: Side,
  seconds: number,
  connections: number,
): Promise<{ result: autocannon.Result; tally: Tally }> {
  const tally = new Tally();
  const result = await autocannon({
    url: side.url,
    connections,
    duration: seconds,
    requests: [
      {
        setupRequest: (request, context: { ticket?: Ticket }) => {
          const ticket = side.tickets.take();
          context.ticket = ticket;
          return { ...request, ...side.build(ticket) };
        },
        onResponse: (status, body, context: { ticket?: Ticket }) => {
          const { ticket } = context;
          if (!ticket) return;
          side.settle(ticket, status, body, tally);
          side.tickets.give(ticket);
        },
      },
    ],
  });
  return { result, tally };
}

/** An open loop at `rate` requests a second. */
async function atRate(
  side: Side,
  rate: number,
  seconds = SECONDS,
): Promise<{ result: PacedResult; tally: Tally }> {
  const tally = new Tally();
  const result = await paced(side.url, { rate, seconds, connections: CONNECTIONS }, () => {
    const ticket = side.tickets.take();
    return {
      ...side.build(ticket),
      answered: (status, body) => {
        side.settle(ticket, status, body, tally);
        side.tickets.give(ticket);
      },
    };
  });
  return { result, tally };
}

async function seedTickets(url: string): Promise<TicketQueue> {
  const response = await fetch(`${url}/_seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      tickets: Array.from({ length: TICKETS }, (_, i) => ({ subject: `Bench ticket ${i}` })),
    }),
  });
  if (response.status !== 201) throw new Error(`seeding answered ${response.status}`);
  const { tickets } = (await response.json()) as {
    tickets: Array<{ id: string; revision: number; status: Status }>;
  };
  return new TicketQueue(
    tickets.map(({ id, revision, status }) => ({ id: String(id), revision, status })),
  );
}

/**
 * CPU use of each process while `work` runs: `cpu` in % of one core, for the log; `gatewayMs`
 * the gateway's CPU milliseconds per answer of `countOf` (a figure that, unlike the rate, does
 * not move with how busy the machine is).
 */
async function withCpu<T>(
  pids: Record<string, number>,
  work: () => Promise<T>,
  countOf: (value: T) => number,
): Promise<{ value: T; cpu: string; gatewayMs: number }> {
  const before = Object.entries(pids).map(([name, pid]) => [name, pid, cpuSeconds(pid)] as const);
  const start = performance.now();
  const value = await work();
  const elapsed = (performance.now() - start) / 1000;
  const used = before.map(([name, pid, then]) => [name, cpuSeconds(pid) - then] as const);
  const cpu = used.map(([name, s]) => `${name} ${((s / elapsed) * 100).toFixed(0)}%`).join(', ');
  const gateway = used.find(([name]) => name === 'gateway')?.[1] ?? 0;
  return { value, cpu, gatewayMs: (gateway * 1000) / Math.max(1, countOf(value)) };
}

const fmt = (ms: number) => (Math.round(ms * 100) / 100).toString();

/**
 * Runs `phase` and says how long, at most, this bench's event loop and the gateway's main thread
 * stood still meanwhile: a tail longer than both comes from somewhere else (the writer thread,
 * the sandbox, or queues behind shorter stalls).
 */
async function withLoopStalls<T>(
  gatewayUrl: string,
  phase: () => Promise<T>,
): Promise<{ value: T; stalls: string }> {
  // Each scrape of the gateway's metrics starts its event-loop figures afresh.
  await gatewayLoopMaxMs(gatewayUrl);
  const bench = monitorEventLoopDelay({ resolution: 1 });
  bench.enable();
  const value = await phase();
  bench.disable();
  const gateway = await gatewayLoopMaxMs(gatewayUrl);
  return {
    value,
    stalls: `the longest event-loop stalls: this bench's ${fmt(bench.max / 1e6)} ms, the gateway main thread's ${fmt(gateway)} ms`,
  };
}

/** The gateway's longest event-loop delay since its metrics were last read, in milliseconds. */
async function gatewayLoopMaxMs(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1]) * 1000;
}

/** The gateway's (or the bare proxy's) CPU per write, for the lines of the sides that have one. */
const perWrite = (side: string, gatewayMs: number) =>
  side === 'sandbox directly' ? '' : ` (gateway ${gatewayMs.toFixed(2)} ms of CPU a write)`;

/** A saturation run: its connections, the closed loop's result, and the CPU it took. */
interface SaturationRun {
  readonly connections: number;
  readonly ok: number;
  readonly result: autocannon.Result;
  readonly gatewayMs: number;
}

/**
 * A side at saturation: closed loops at CONNECTIONS connections, then twice and four times as
 * many, while each adds at least a twentieth to the rate; the last that did counts, so that
 * connections that only lengthen the queue do not set the latencies. At a fixed number of
 * connections the rate is bound by each request's wait as well as by the CPU: on a day when 50
 * connections gave Airlock 2,862–2,905 actions/s, 100 gave 3,207–3,214 and 150 gave
 * 3,300–3,376. Each run is printed, with how the gateway's threads ran when `threads`.
 */
async function saturation(
  pids: { readonly gateway: number; readonly sandbox: number; readonly bench: number },
  name: string,
  side: Side,
  threads = false,
): Promise<SaturationRun> {
  let counted: SaturationRun | undefined;
  for (const connections of [CONNECTIONS, CONNECTIONS * 2, CONNECTIONS * 4]) {
    await saturate(side, WARMUP_SECONDS, connections);
    const threadsBefore = threads ? threadTimes(pids.gateway) : undefined;
    const run = await withCpu(pids, () => saturate(side, SECONDS, connections), okCount);
    const { result, tally } = run.value;
    console.log(
      `saturation, ${name}, ${connections} connections: ${(tally.ok / SECONDS).toFixed(0)} writes/s, p50=${result.latency.p50}ms p99=${result.latency.p99}ms; answers ${tally}; errors=${result.errors} timeouts=${result.timeouts}; cpu ${run.cpu}${perWrite(name, run.gatewayMs)}`,
    );
    if (threadsBefore) {
      console.log(
        `saturation, ${connections} connections, the gateway's threads in ${SECONDS} s: ${threadWaits(pids.gateway, threadsBefore)}`,
      );
    }
    if (counted && tally.ok < counted.ok * 1.05) break;
    counted = { connections, ok: tally.ok, result, gatewayMs: run.gatewayMs };
  }
  if (!counted) throw new Error('no saturation run');
  return counted;
}

/** Signed webhooks to the gateway's `demo` source, an open loop at `rate` a second. */
async function webhooksAt(
  url: string,
  rate: number,
  seconds: number,
): Promise<{ result: PacedResult; tally: Tally }> {
  const tally = new Tally();
  const result = await paced(url, { rate, seconds, connections: CONNECTIONS }, () => ({
    method: 'POST',
    path: '/hooks/demo',
    ...signedRequest(),
    answered: (status) => tally.count(`${status}`, status === 202),
  }));
  return { result, tally };
}

/**
 * How long the gateway's main thread and its busiest other thread (the SQLite writer) ran since
 * `before`, and how long they were runnable but waited for a core.
 */
function threadWaits(pid: number, before: Map<number, ThreadTime>): string {
  const spent = [...threadTimes(pid)].map(([tid, now]) => {
    const then = before.get(tid) ?? { ran: 0, waited: 0 };
    return { tid, ran: now.ran - then.ran, waited: now.waited - then.waited };
  });
  const main = spent.filter((thread) => thread.tid === pid);
  const rest = spent.filter((thread) => thread.tid !== pid).sort((a, b) => b.ran - a.ran);
  return [...main, ...rest.slice(0, 1)]
    .map(
      (thread, index) =>
        `${index === 0 ? 'main' : 'busiest other'} ran ${thread.ran.toFixed(1)} s, waited ${thread.waited.toFixed(1)} s`,
    )
    .join('; ');
}

/** The sum and count of every latency histogram series on the gateway's `/metrics` page. */
async function latencySeries(url: string): Promise<Map<string, { sum: number; count: number }>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series = new Map<string, { sum: number; count: number }>();
  for (const line of text.split('\n')) {
    const match = /^(airlock_\w+_duration_seconds)_(sum|count)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!match) continue;
    const [, name, field, labels = '', value] = match;
    const entry = series.get(`${name}${labels}`) ?? { sum: 0, count: 0 };
    entry[field as 'sum' | 'count'] = Number(value);
    series.set(`${name}${labels}`, entry);
  }
  return series;
}

/**
 * Where a proposal's time went between two scrapes, as the gateway measured it (means in ms):
 * the whole pipeline, the two calls to the system and the two durable store writes.
 */
function timeSpent(
  before: Map<string, { sum: number; count: number }>,
  after: Map<string, { sum: number; count: number }>,
): string {
  const mean = (series: string) => {
    const then = before.get(series) ?? { sum: 0, count: 0 };
    const now = after.get(series);
    if (!now || now.count === then.count) return Number.NaN;
    return ((now.sum - then.sum) / (now.count - then.count)) * 1000;
  };
  const total = mean('airlock_pipeline_duration_seconds{operation="ticket.set_status"}');
  const parts = [
    ['read', mean('airlock_connector_call_duration_seconds{system="helpdesk",operation="read"}')],
    ['store acceptAction', mean('airlock_store_op_duration_seconds{op="acceptAction"}')],
    [
      'write',
      mean(
        'airlock_connector_call_duration_seconds{system="helpdesk",operation="ticket.set_status"}',
      ),
    ],
    [
      'store updateLeasedAction',
      mean('airlock_store_op_duration_seconds{op="updateLeasedAction"}'),
    ],
  ] as const;
  const rest = parts.reduce((left, [, ms]) => left - ms, total);
  return `${fmt(total)}ms = ${parts.map(([name, ms]) => `${name} ${fmt(ms)}`).join(' + ')} + the rest ${fmt(rest)}`;
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-'));
const children: Array<{ kill(signal: NodeJS.Signals): unknown }> = [];
try {
  const directPort = await freePort();
  const direct = spawnNode(['bench/sandbox-server.js', String(directPort)]);
  children.push(direct);
  const directUrl = `http://127.0.0.1:${directPort}`;
  const behindPort = await freePort();
  const behind = spawnNode(['bench/sandbox-server.js', String(behindPort)]);
  children.push(behind);
  const behindUrl = `http://127.0.0.1:${behindPort}`;
  await waitForHttp(`${directUrl}/healthz`);
  await waitForHttp(`${behindUrl}/healthz`);

  const dbFile = join(dir, 'airlock.db');
  const configFile = writeConfig(dir, {
    store: { url: `sqlite:${dbFile}` },
    log: { level: 'warn' },
    agents: {
      'support-bot': {
        keySha256: createHash('sha256').update(AGENT_KEY).digest('hex'),
        operations: ['ticket.set_status'],
      },
    },
    connectors: { helpdesk: { kind: 'sandbox', url: behindUrl } },
    sources: DEMO_SOURCE,
  });
  const gateway = await startGatewayProcess(configFile, await freePort());
  children.push(gateway.child);
  const barePort = await freePort();
  const bare = spawnNode(['bench/bare-proxy.js', String(barePort), directUrl]);
  children.push(bare);
  const bareUrl = `http://127.0.0.1:${barePort}`;
  await waitForHttp(`${bareUrl}/healthz`);
  // The bare proxy of the half-load runs, in front of the sandbox those runs share.
  const bareBehindPort = await freePort();
  const bareBehind = spawnNode(['bench/bare-proxy.js', String(bareBehindPort), behindUrl]);
  children.push(bareBehind);
  const bareBehindUrl = `http://127.0.0.1:${bareBehindPort}`;
  await waitForHttp(`${bareBehindUrl}/healthz`);

  const executed = new Set<string>();
  const sandbox = sandboxSide(directUrl, await seedTickets(directUrl));
  const airlock = airlockSide(gateway.url, await seedTickets(behindUrl), executed);
  const bareSide = airlockSide(bareUrl, await seedTickets(directUrl), new Set(), 'bare proxy');
  const behindSide = sandboxSide(behindUrl, await seedTickets(behindUrl));
  const bareBehindSide = airlockSide(
    bareBehindUrl,
    await seedTickets(behindUrl),
    new Set(),
    'bare proxy',
  );
  const pids = {
    gateway: gateway.child.pid as number,
    sandbox: 0,
    bench: process.pid,
  };

  // 1. Saturation.
  pids.sandbox = direct.pid as number;
  const directMax = await saturation(pids, 'sandbox directly', sandbox);
  pids.gateway = bare.pid as number;
  const bareMax = await saturation(
    pids,
    'bare proxy (the same read and write, nothing else)',
    bareSide,
  );
  pids.gateway = gateway.child.pid as number;
  pids.sandbox = behind.pid as number;
  const airlockMax = await saturation(pids, 'through Airlock', airlock, true);
  const sandboxDirectPerS = directMax.ok / SECONDS;
  const actionsPerS = airlockMax.ok / SECONDS;
  const bareProxyPerS = bareMax.ok / SECONDS;

  // 2. Half that load, the same rate both ways.
  const rate = Math.max(1, Math.round(actionsPerS / 2));
  pids.sandbox = behind.pid as number;
  const directHalf = await withCpu(pids, () => atRate(behindSide, rate), okCount);
  // It starts cold, unlike Airlock: its JIT and connections are warmed first.
  await atRate(bareBehindSide, rate, WARMUP_SECONDS);
  const bareHalf = await withCpu(
    { ...pids, gateway: bareBehind.pid as number },
    () => atRate(bareBehindSide, rate),
    okCount,
  );
  const seriesBefore = await latencySeries(gateway.url);
  const threadsBefore = threadTimes(pids.gateway);
  const { value: airlockHalf, stalls: halfStalls } = await withLoopStalls(gateway.url, () =>
    withCpu(pids, () => atRate(airlock, rate), okCount),
  );
  const halfThreads = threadWaits(pids.gateway, threadsBefore);
  const spent = timeSpent(seriesBefore, await latencySeries(gateway.url));
  const p99 = (result: PacedResult) => percentile(result.latenciesMs, 99);
  for (const [name, run] of [
    ['sandbox directly', directHalf],
    ['bare proxy', bareHalf],
    ['through Airlock', airlockHalf],
  ] as const) {
    const { result, tally } = run.value;
    console.log(
      `${rate}/s, ${name}: sent ${result.sent}, p50=${fmt(percentile(result.latenciesMs, 50))}ms p99=${fmt(p99(result))}ms; answers ${tally}; errors=${result.errors}; cpu ${run.cpu}${perWrite(name, run.gatewayMs)}`,
    );
  }
  console.log(`${rate}/s, where a proposal's time went in the gateway (means): ${spent}`);
  console.log(`${rate}/s, the gateway's threads waiting for a core: ${halfThreads}`);
  console.log(`${rate}/s, ${halfStalls}`);
  const addedP99 = p99(airlockHalf.value.result) - p99(directHalf.value.result);
  const bareAddedP99 = p99(bareHalf.value.result) - p99(directHalf.value.result);
  console.log(
    `${rate}/s, added to the direct p99: through Airlock ${fmt(addedP99)} ms, through the bare proxy ${fmt(bareAddedP99)} ms`,
  );

  // 3. Beside webhooks.
  const besideRate = Math.max(1, Math.round(actionsPerS / 6));
  const beside = (seconds: number) =>
    Promise.all([
      atRate(airlock, besideRate, seconds),
      webhooksAt(gateway.url, WEBHOOKS_PER_S, seconds),
    ]);
  await beside(WARMUP_SECONDS);
  const besideBefore = threadTimes(pids.gateway);
  const {
    value: [proposals, hooks],
    stalls: besideStalls,
  } = await withLoopStalls(gateway.url, () => beside(SECONDS));
  const besideThreads = threadWaits(pids.gateway, besideBefore);
  const median = (result: PacedResult) => fmt(percentile(result.latenciesMs, 50));
  console.log(
    `${besideRate}/s beside ${WEBHOOKS_PER_S} webhooks/s, through Airlock: p50=${median(proposals.result)}ms p99=${fmt(p99(proposals.result))}ms; answers ${proposals.tally}; webhooks p50=${median(hooks.result)}ms p99=${fmt(p99(hooks.result))}ms, answers ${hooks.tally}, errors=${hooks.result.errors}`,
  );
  console.log(
    `${besideRate}/s beside ${WEBHOOKS_PER_S} webhooks/s, the gateway's threads waiting for a core: ${besideThreads}`,
  );
  console.log(`${besideRate}/s beside ${WEBHOOKS_PER_S} webhooks/s, ${besideStalls}`);

  // 4. Effects: stop the gateway (it lets attempts under way finish), then count.
  await gateway.stop('SIGTERM');
  const writesAnswer = await fetch(`${behindUrl}/_writes`);
  const answer = (await writesAnswer.json()) as {
    writes: Array<{ actionId: string | null; record: { id: string } }>;
    dropped: number;
  };
  if (answer.dropped > 0) throw new Error(`the sandbox let ${answer.dropped} writes go`);
  // Airlock's writes: those to its tickets (the rest are the direct half-load run's).
  const writes = answer.writes.filter((write) => airlock.tickets.ids.has(write.record.id));
  const db = new Database(dbFile, { readonly: true });
  const byStatus = db
    .prepare('select status, count(*) as n from actions group by status')
    .all() as Array<{ status: string; n: number }>;
  db.close();
  const executedInStore = byStatus.find((row) => row.status === 'executed')?.n ?? 0;
  const writtenBy = new Set(writes.map((write) => write.actionId));
  const missing = [...executed].filter((id) => !writtenBy.has(id)).length;
  console.log(
    `effects: ${writes.length} writes in the sandbox by ${writtenBy.size} distinct actions; store: ${byStatus.map((row) => `${row.status}=${row.n}`).join(' ')}; executed answers without a write: ${missing}`,
  );
  if (
    writes.length !== executedInStore ||
    writtenBy.size !== writes.length ||
    writtenBy.has(null) ||
    missing > 0
  ) {
    console.error(
      'FAILED: the sandbox writes are not exactly one per executed action (a duplicate or a missing effect)',
    );
    process.exitCode = 1;
  }
  console.log(
    `actions: actions_per_s=${actionsPerS.toFixed(0)} p50_ms=${airlockMax.result.latency.p50} p99_ms=${airlockMax.result.latency.p99} added_p99_ms=${fmt(addedP99)} sandbox_direct_per_s=${sandboxDirectPerS.toFixed(0)} bare_proxy_per_s=${bareProxyPerS.toFixed(0)} bare_proxy_added_p99_ms=${fmt(bareAddedP99)} gateway_cpu_ms=${airlockMax.gatewayMs.toFixed(2)} connections=${airlockMax.connections}`,
  );
} finally {
  for (const child of children) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
