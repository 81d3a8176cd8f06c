import type { Command } from 'commander';
import { traceOf } from '../trace/index.js';
import { parseId } from './arguments.js';
import type { WithStore } from './audit-commands.js';
import { printTrace } from './print-trace.js';

interface WhyOptions {
  readonly config?: string;
  readonly json?: boolean;
}

/** Adds `airlock why ID`: the chain behind an id, as a timeline (or `--json`, the document). */
export function addWhyCommand(program: Command, withStore: WithStore): void {
  program
    .command('why')
    .description(
      'the whole chain behind an id: webhook, proposal, policy, approval, write and its echo',
    )
    .argument(
      '<id>',
      'an event id, provider event id, action id, approval id, idempotency key or system:type:id',
      parseId,
    )
    .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
    .option('--json', 'print the whole trace as JSON')
    .action(async (id: string, options: WhyOptions) => {
      await withStore(options, async (store) => {
        const trace = await traceOf(store, id);
        process.stdout.write(
          options.json ? `${JSON.stringify(trace, null, 2)}\n` : printTrace(trace),
        );
      });
    });
}
