// npm run bench:ingest — webhook ingest throughput against a bare Fastify route, same run.
//
// Starts the built `airlock start` (SQLite file, WAL, synchronous=FULL: every acknowledged event
// is fsynced) and a bare Fastify route in subprocesses on loopback, drives each with autocannon
// (50 connections, signed Standard Webhooks events with distinct ids), then checks that every
// 202 is a row in the store. Last line: `ingest: events_per_s=… p99_ms=… bare_req_per_s=… ratio=… rss_mb=…`.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { freePort, startGatewayProcess, writeConfig } from '../test/helpers/gateway-process.js';
import { spawnNode, waitForHttp } from './process.js';
import { DEMO_SOURCE, signedRequest } from './webhooks.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

async function drive(url: string, seconds: number): Promise<autocannon.Result> {
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        path: '/hooks/demo',
        setupRequest: (request) => ({ ...request, ...signedRequest() }),
      },
    ],
  });
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-'));
try {
  // Baseline: the same requests against a Fastify route that only parses JSON and answers.
  const barePort = await freePort();
  const bare = spawnNode(['bench/bare-server.js', String(barePort)]);
  await waitForHttp(`http://127.0.0.1:${barePort}/healthz`);
  await drive(`http://127.0.0.1:${barePort}`, 2);
  const bareResult = await drive(`http://127.0.0.1:${barePort}`, SECONDS);
  bare.kill('SIGKILL');

  const dbFile = join(dir, 'airlock.db');
  const configFile = writeConfig(dir, {
    store: { url: `sqlite:${dbFile}` },
    log: { level: 'warn' },
    sources: DEMO_SOURCE,
  });
  const gateway = await startGatewayProcess(configFile, await freePort());
  await drive(gateway.url, 2);
  const result = await drive(gateway.url, SECONDS);
  const rssMb = peakRssMb(gateway.child.pid as number);
  await gateway.stop('SIGKILL');

  // Every 2xx of both runs (warm-up included) must be a committed row.
  const db = new Database(dbFile, { readonly: true });
  const rows = (db.prepare('select count(*) as n from events').get() as { n: number }).n;
  db.close();

  const acknowledged = result['2xx'];
  const eventsPerS = acknowledged / SECONDS;
  const bareReqPerS = bareResult['2xx'] / SECONDS;
  console.log(
    `airlock: ${acknowledged} acknowledged in ${SECONDS}s, non-2xx=${result.non2xx} errors=${result.errors} timeouts=${result.timeouts}; p50=${result.latency.p50}ms p99=${result.latency.p99}ms; rows in store=${rows}`,
  );
  console.log(`bare fastify: ${bareResult['2xx']} in ${SECONDS}s, p99=${bareResult.latency.p99}ms`);
  if (rows < acknowledged || result.non2xx > 0) {
    console.error('FAILED: some acknowledged events are not in the store, or requests failed');
    process.exitCode = 1;
  }
  console.log(
    `ingest: events_per_s=${eventsPerS.toFixed(0)} p99_ms=${result.latency.p99} bare_req_per_s=${bareReqPerS.toFixed(0)} ratio=${(eventsPerS / bareReqPerS).toFixed(2)} rss_mb=${rssMb.toFixed(0)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
