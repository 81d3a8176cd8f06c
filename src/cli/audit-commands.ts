import { once } from 'node:events';
import { type Command, InvalidArgumentError } from 'commander';
import { type AuditHead, exportAudit, verifyAudit } from '../audit/index.js';
import { AppError } from '../errors.js';
import type { Store } from '../store/index.js';

interface ConfigOption {
  readonly config?: string;
}

/** How main.ts runs a command against the configured store (opened, then closed). */
export type WithStore = (
  options: ConfigOption,
  fn: (store: Store) => Promise<void>,
) => Promise<void>;

/** Adds `airlock audit verify` and `airlock audit export`. */
export function addAuditCommands(program: Command, withStore: WithStore): void {
  const audit = program.command('audit').description('the hash-chained audit log');

  audit
    .command('verify')
    .description('check the hash chain and print its head; record the head to check it later')
    .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
    .option(
      '--head <seq:hash>',
      'a head printed by an earlier verify: also finds a tail cut off or rewritten since',
      parseHead,
    )
    .action(async (options: ConfigOption & { head?: AuditHead }) => {
      await withStore(options, async (store) => {
        const result = await verifyAudit(store.db, { head: options.head });
        if (!result.ok) {
          throw new AppError(
            'audit-chain-broken',
            500,
            `first bad entry: seq=${result.seq} (${result.problem}): ${result.detail}; ` +
              `${result.checked} entries before it verified`,
            { details: { seq: result.seq, problem: result.problem } },
          );
        }
        process.stdout.write(
          `ok: ${result.checked} entries, head seq=${result.head.seq} hash=${result.head.hash}\n`,
        );
      });
    });

  audit
    .command('export')
    .description('entries as JSON lines, oldest first')
    .requiredOption(
      '--since <time>',
      'an ISO date-time (2024-05-01T00:00:00Z) or a duration back from now (90s, 30m, 24h, 7d)',
      parseSince,
    )
    .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
    .action(async (options: ConfigOption & { since: number }) => {
      await withStore(options, async (store) => {
        for await (const line of exportAudit(store.db, options.since)) {
          // Wait when the pipe is full rather than buffer the whole log in memory.
          if (!process.stdout.write(`${line}\n`)) await once(process.stdout, 'drain');
        }
      });
    });
}

const DURATION_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `--since`: an ISO date-time, or a duration back from now; epoch ms. */
function parseSince(value: string): number {
  const duration = /^(\d+)([smhd])$/.exec(value);
  if (duration) {
    const unit = DURATION_MS[duration[2] as keyof typeof DURATION_MS];
    return Date.now() - Number(duration[1]) * unit;
  }
  // Date.parse accepts many loose forms; only ISO dates and date-times are meant here.
  const ms = /^\d{4}-\d{2}-\d{2}(T|$)/.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new InvalidArgumentError(
      'expected an ISO date-time (2024-05-01T00:00:00Z) or a duration (90s, 30m, 24h, 7d)',
    );
  }
  return ms;
}

/** `--head`: `<seq>:<hash>` as printed by verify (`seq=12 hash=ab…` is accepted too). */
function parseHead(value: string): AuditHead {
  const match = /^(?:seq=)?(\d+)[:\s]+(?:hash=)?([0-9a-f]{64})$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected <seq>:<64 hex digits of the hash>');
  return { seq: Number(match[1]), hash: match[2] as string };
}
