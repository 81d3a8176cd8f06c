#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config.js';
import { coerceError } from '../errors.js';
import { getEvent, listEvents, parseRecordRef, type RecordRef } from '../ingest/index.js';
import { startGateway } from '../main.js';
import { openStore } from '../store/index.js';
import { printEvent, printEventPage } from './print-events.js';

interface ConfigOption {
  readonly config?: string;
}

const program = new Command('airlock')
  .description('A gateway between AI agents and the systems they write to.')
  .showHelpAfterError()
  .exitOverride();

program
  .command('start')
  .description('run the gateway')
  .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
  .option('-p, --port <n>', 'listen on this port', parsePort)
  .action(async (options: ConfigOption & { port?: number }) => {
    const config = loadConfig({ file: configFile(options), flags: { port: options.port } });
    const gateway = await startGateway(config);
    const stop = (signal: string) => {
      gateway.app.log.info({ signal }, 'shutting down');
      gateway.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });

const events = program.command('events').description('inspect the webhook inbox');

events
  .command('list')
  .description('events newest first')
  .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
  .option('--source <name>', 'only events from this source')
  .option('--record <system:type:id>', 'only events about this record', parseRecord)
  .option('--limit <n>', 'how many (1-500)', parseLimit, 50)
  .option('--cursor <cursor>', 'the next-page cursor printed by the previous page')
  .option('--json', 'print JSON')
  .action(
    async (
      options: ConfigOption & {
        source?: string;
        record?: RecordRef;
        limit: number;
        cursor?: string;
        json?: boolean;
      },
    ) => {
      await withStore(options, async (store) => {
        const page = await listEvents(store, {
          source: options.source,
          record: options.record,
          limit: options.limit,
          cursor: options.cursor,
        });
        process.stdout.write(
          options.json ? `${JSON.stringify(page, null, 2)}\n` : printEventPage(page),
        );
      });
    },
  );

events
  .command('show')
  .description('one event with its headers and payload')
  .argument('<id>', 'event id')
  .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
  .option('--json', 'print JSON')
  .action(async (id: string, options: ConfigOption & { json?: boolean }) => {
    await withStore(options, async (store) => {
      const event = await getEvent(store, id);
      process.stdout.write(
        options.json ? `${JSON.stringify(event, null, 2)}\n` : printEvent(event),
      );
    });
  });

function configFile(options: ConfigOption): string | undefined {
  return options.config ?? process.env.AIRLOCK_CONFIG;
}

async function withStore<T>(
  options: ConfigOption,
  fn: (store: Awaited<ReturnType<typeof openStore>>) => Promise<T>,
): Promise<T> {
  const config = loadConfig({ file: configFile(options) });
  const store = await openStore(config.store.url, { poolSize: 2 });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  }
  return port;
}

function parseRecord(value: string): RecordRef {
  try {
    return parseRecordRef(value);
  } catch (error) {
    throw new InvalidArgumentError(coerceError(error).message);
  }
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw new InvalidArgumentError('expected a whole number from 1 to 500');
  }
  return limit;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; every other commander error is a misuse of the command line.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  const appError = coerceError(error);
  process.stderr.write(`airlock: ${appError.code}: ${appError.message}\n`);
  process.exit(1);
}
