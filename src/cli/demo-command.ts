import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { AppError } from '../errors.js';
import { parseChaosSpec } from '../sandbox/index.js';
import { integrityLine, integrityTable } from '../simulation/report.js';
import {
  type ModeResult,
  type Progress,
  type RunOptions,
  runAirlock,
  runDirect,
} from '../simulation/run.js';

interface DemoOptions {
  readonly seed: number;
  readonly customers: number;
  readonly seconds: number;
  readonly chaos: { readonly spec: string; readonly options: ReturnType<typeof parseChaosSpec> };
  readonly data: string;
  /** False with `--exit`: end when the run is reported instead of keeping the dashboard up. */
  readonly stay: boolean;
}

/**
 * Adds `airlock demo`: the sandbox under chaos, a simulated agent with seeded faults, the same
 * scenario played directly and through Airlock, live progress, and the integrity table.
 */
export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'play one seeded scenario twice, under sandbox chaos, with a simulated agent that makes ' +
        'mistakes: writing directly, then through Airlock; ends with the erroneous writes of each',
    )
    .option('--seed <n>', 'the scenario, chaos and agent seed', parseCount, 1)
    .option('--customers <n>', 'customers in the scenario', parseCount, 120)
    .option('--seconds <n>', 'over how long the stories start', parseCount, 20)
    .addOption(
      new Option('--chaos <spec>', 'sandbox chaos: mild, heavy or JSON')
        .argParser(parseChaos)
        .default(parseChaos('mild'), 'mild'),
    )
    .option('--data <dir>', "where Airlock's store of the run is kept", './data/demo')
    .option('--exit', 'end after the report instead of keeping the dashboard up until Ctrl-C')
    .action(async (given: Omit<DemoOptions, 'stay'> & { exit?: boolean }) => {
      const options: DemoOptions = { ...given, stay: !given.exit };
      const { seed: _seed, ...chaos } = options.chaos.options;
      const run: RunOptions = {
        seed: options.seed,
        customers: options.customers,
        leads: Math.max(1, Math.round(options.customers / 10)),
        durationMs: options.seconds * 1000,
        chaos,
        onProgress: printProgress,
      };
      // Made before the first half of the run, which would otherwise be wasted on a bad --data.
      const data = dataDir(options.data, options.seed);
      const out = process.stdout;
      out.write(
        `Airlock demo: ${options.customers} customers over ${options.seconds} s, chaos ${options.chaos.spec}, seed ${options.seed}\n` +
          'The same scenario and the same faulty agent, twice.\n\n',
      );
      const direct = await runDirect(run);
      endLine();
      let dashboard = { url: '', token: '' };
      await runAirlock({
        ...run,
        dataDir: data,
        onDashboard: (shown) => {
          dashboard = shown;
          endLine();
          out.write(
            `Watch it in the dashboard: ${shown.url} (sign in with the token ${shown.token})\n`,
          );
        },
        beforeClose: async (result) => {
          endLine();
          report(direct, result);
          if (options.stay) {
            out.write(
              `\nThe dashboard stays up over the finished run: ${dashboard.url} (token ${dashboard.token}).\n` +
                'Press Ctrl-C to stop.\n',
            );
            await interrupted();
          }
        },
      });
    });
}

/** The run's store directory under `--data`, made now; a path that cannot be one is refused. */
function dataDir(given: string, seed: number): string {
  const dir = resolve(given, `seed-${seed}`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new AppError('data-dir-unusable', 400, `--data ${given}: cannot make ${dir} (${reason})`);
  }
  return dir;
}

function report(direct: ModeResult, airlock: ModeResult): void {
  const out = process.stdout;
  out.write(`\n${integrityTable(direct.check, airlock.check)}\n\n`);
  if (airlock.gateway) {
    const g = airlock.gateway;
    out.write(
      `Through Airlock: ${g.events} events in, ${g.duplicatesDropped} duplicate deliveries dropped, ` +
        `${g.executed} writes executed, ${g.refusedStale} refused as stale, ` +
        `${g.refusedOther} denied or rejected.\n`,
    );
  }
  const missed = Object.entries(airlock.check.examples).filter(([, ids]) => ids?.length);
  for (const [name, ids] of missed) out.write(`Airlock ${name}: ${ids?.join('; ')}\n`);
  if (airlock.tryWhy && airlock.tryWhy.length > 0 && airlock.configFile) {
    out.write('\nAsk why:\n');
    for (const { what, id } of airlock.tryWhy) {
      out.write(`  npx airlock why ${id} --config ${airlock.configFile}   # ${what}\n`);
    }
  }
  out.write(`\n${integrityLine(direct.check, airlock.check, airlock.events)}\n`);
}

/** Resolves on the first Ctrl-C (or SIGTERM), so the run's servers can then close in order. */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

let lastWasProgress = false;

function printProgress(p: Progress): void {
  const g = p.gateway;
  const counts = g
    ? ` | events in ${g.events}, duplicates dropped ${g.duplicatesDropped}, executed ${g.executed}, stale ${g.refusedStale}, awaiting approval ${g.pendingApproval}`
    : '';
  const line = `${p.mode.padEnd(7)} ${p.phase} ${p.steps}/${p.stepsTotal} steps${counts}`;
  if (process.stdout.isTTY) {
    process.stdout.write(`\r\u001b[2K${line}`);
    lastWasProgress = true;
  } else {
    process.stdout.write(`${line}\n`);
  }
}

function endLine(): void {
  if (lastWasProgress) process.stdout.write('\n');
  lastWasProgress = false;
}

function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    throw new InvalidArgumentError('expected a whole number from 1 to 100000');
  }
  return n;
}

function parseChaos(spec: string) {
  try {
    return { spec, options: parseChaosSpec(spec) };
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}
