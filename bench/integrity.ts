// npm run bench:integrity — the number of erroneous writes, Airlock's headline.
//
// One seeded scenario (src/simulation: customers writing, staff acting, leads arriving twice)
// is played twice into the sandbox under the same chaos (duplicated, reordered, delayed and
// dropped webhooks; 5xx, 429, slow answers and timeouts after applying), with the same
// simulated agent and the same seeded faults (re-triggering, stale reads, wrong records,
// misread intent, answering its own echo, second follow-ups):
// - direct: the agent gets the sandbox's webhooks and writes to its API, as a naive integration;
// - airlock: the agent pulls its events from Airlock and proposes every write to it (the SDK).
// The checker counts the erroneous writes of each class in the sandbox's write log against the
// scenario's truth. Last line: `integrity: direct_erroneous=… airlock_erroneous=…
// legit_completed_pct=… false_block_pct=… events=…`.
//
// BENCH_SEED (default 7), BENCH_CUSTOMERS (default 1400: about 5,000 inbox events), BENCH_SECONDS
// (over how long the stories start, default 60), BENCH_CHAOS (mild|heavy|JSON, default mild).
import { parseChaosSpec } from '../src/sandbox/index.js';
import { integrityLine, integrityTable } from '../src/simulation/report.js';
import { type Progress, type RunOptions, runAirlock, runDirect } from '../src/simulation/run.js';

const seed = Number(process.env.BENCH_SEED ?? 7);
const customers = Number(process.env.BENCH_CUSTOMERS ?? 1400);
const seconds = Number(process.env.BENCH_SECONDS ?? 60);
const { seed: _ignored, ...chaos } = parseChaosSpec(process.env.BENCH_CHAOS ?? 'mild');

const options: RunOptions = {
  seed,
  customers,
  leads: Math.round(customers / 10),
  durationMs: seconds * 1000,
  chaos,
  onProgress: (p: Progress) => {
    const gateway = p.gateway
      ? ` events=${p.gateway.events} duplicates_dropped=${p.gateway.duplicatesDropped} executed=${p.gateway.executed} stale=${p.gateway.refusedStale} approval=${p.gateway.pendingApproval}`
      : '';
    process.stderr.write(`${p.mode} ${p.phase} ${p.steps}/${p.stepsTotal}${gateway}\n`);
  },
};

process.stdout.write(
  `seed ${seed}, ${customers} customers, stories over ${seconds} s, chaos ${process.env.BENCH_CHAOS ?? 'mild'}\n`,
);
const direct = await runDirect(options);
process.stdout.write(
  `direct: ${direct.events} webhook events, ${(direct.durationMs / 1000).toFixed(0)} s\n`,
);
// Airlock's store is kept, so what it did can be asked about (`airlock why`).
const airlock = await runAirlock({ ...options, dataDir: process.env.BENCH_DATA ?? './data/bench' });
process.stdout.write(
  `airlock: ${airlock.events} inbox events, ${(airlock.durationMs / 1000).toFixed(0)} s\n`,
);
process.stdout.write(
  `chaos injected (airlock run): ${JSON.stringify((airlock.chaos as { injected?: unknown }).injected)}\n`,
);
for (const run of [direct, airlock]) {
  // A webhook the sandbox gave up on is an event its receiver never had: a lost event not of
  // the receiver's making.
  const reasons = new Map<string, number>();
  for (const { status, lastError } of run.webhooksUndelivered) {
    const reason = `${status}: ${lastError ?? 'not yet sent'}`;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  process.stdout.write(
    `webhooks never delivered (${run.mode} run): ${run.webhooksUndelivered.length}${
      reasons.size ? ` ${JSON.stringify(Object.fromEntries(reasons))}` : ''
    }\n`,
  );
}
process.stdout.write('\n');
process.stdout.write(`${integrityTable(direct.check, airlock.check)}\n`);
for (const [name, ids] of Object.entries(airlock.check.examples)) {
  if (ids?.length) process.stdout.write(`airlock ${name}: ${ids.join('; ')}\n`);
}
if (airlock.configFile) process.stdout.write(`airlock's store: --config ${airlock.configFile}\n`);
process.stdout.write(`${integrityLine(direct.check, airlock.check, airlock.events)}\n`);
