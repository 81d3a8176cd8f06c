#!/usr/bin/env node
import './v8-flags.js';
import { userInfo } from 'node:os';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { rateLimitRules, retryAction, undoAction } from '../actions/index.js';
import { addAgent } from '../agents/index.js';
import { agentName, type Config, loadConfig } from '../config.js';
import { DELIVERY_OPS_MODULE, type DeliveryOps, deliveryOps } from '../dispatch/index.js';
import { AppError, coerceError } from '../errors.js';
import { getEvent, listEvents, parseRecordRef, type RecordRef } from '../ingest/index.js';
import { createLogger } from '../logging.js';
import {
  assembleGateway,
  configuredGatewayUrl,
  explainListen,
  sandboxWebhooks,
  startGateway,
} from '../main.js';
import {
  type ChaosOptions,
  createSandbox,
  DEFAULT_CRM_SECRET,
  DEFAULT_HELPDESK_SECRET,
  parseChaosSpec,
} from '../sandbox/index.js';
import { createOpRunner, type Store } from '../store/index.js';
import { VERSION } from '../version.js';
import { addAgentCommands } from './agent-commands.js';
import { addApprovalCommands } from './approvals-commands.js';
import { parseDecider, parseId, parseOperations, parseUrl } from './arguments.js';
import { addAuditCommands } from './audit-commands.js';
import { addDemoCommand } from './demo-command.js';
import { printEvent, printEventPage } from './print-events.js';
import { type ConfigOption, configFile, withStore } from './store-access.js';
import { addWhyCommand } from './why-command.js';

const program = new Command('airlock')
  .description('A gateway between AI agents and the systems they write to.')
  .version(VERSION, '-V, --version', 'print the version')
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

program
  .command('sandbox')
  .description(
    "run Airlock's own CRM + helpdesk + orders system (for trying Airlock and for tests)",
  )
  .option('-p, --port <n>', 'listen on this port', parsePort, 8081)
  .option('--host <host>', 'listen on this address', '127.0.0.1')
  .option('--helpdesk-webhook <url>', 'send helpdesk changes here, signed like Zendesk', parseUrl)
  .option(
    '--crm-webhook <url>',
    'send CRM and order changes here, signed like HubSpot v3',
    parseUrl,
  )
  .option('--helpdesk-secret <secret>', 'Zendesk-style signing secret', DEFAULT_HELPDESK_SECRET)
  .option('--crm-secret <secret>', 'HubSpot-style client secret', DEFAULT_CRM_SECRET)
  .option(
    '--chaos <spec>',
    'misbehave at seeded rates: mild, heavy or a JSON object (src/sandbox/README.md "Chaos")',
    parseChaos,
  )
  .option('--seed <n>', 'the chaos seed (default 1, or the JSON spec’s seed)', parseSeed)
  .option(
    '-c, --config <file>',
    "a gateway's config: listen on its sandbox.host and sandbox.port, and send webhooks to " +
      'that gateway, signed with its sources’ secrets (the options above still win)',
  )
  .action(async (given: SandboxCommandOptions, command: Command) => {
    if (given.seed !== undefined && !given.chaos)
      command.error('error: --seed only applies with --chaos');
    const options = given.config === undefined ? given : withSandboxConfig(given, command);
    const chaos = options.chaos && {
      ...options.chaos,
      seed: options.seed ?? options.chaos.seed ?? 1,
    };
    const sandbox = createSandbox({
      webhookUrl:
        options.helpdeskWebhook || options.crmWebhook
          ? { helpdesk: options.helpdeskWebhook, crm: options.crmWebhook }
          : undefined,
      helpdeskSecret: options.helpdeskSecret,
      crmSecret: options.crmSecret,
      logLevel: 'info',
      chaos,
    });
    const { options: settings } = sandbox.chaosReport();
    if (settings) process.stderr.write(`sandbox chaos: ${JSON.stringify(settings)}\n`);
    let url = '';
    await explainListen('the sandbox', '--port', options.host, options.port, async () => {
      url = await sandbox.listen(options.port, options.host);
    });
    process.stderr.write(`sandbox listening on ${url} (API: src/sandbox/README.md)\n`);
    const stop = () => sandbox.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

/** The options of `airlock sandbox`. */
interface SandboxCommandOptions {
  readonly port: number;
  readonly host: string;
  readonly helpdeskWebhook?: string;
  readonly crmWebhook?: string;
  readonly helpdeskSecret: string;
  readonly crmSecret: string;
  readonly chaos?: Partial<ChaosOptions>;
  readonly seed?: number;
  readonly config?: string;
}

/**
 * `sandbox --config FILE`: what the options leave at their defaults, from the config: where the
 * sandbox listens (`sandbox.host`, `sandbox.port`), and its webhooks to that gateway
 * (`sandboxWebhooks`). Only an explicit --config: `$AIRLOCK_CONFIG` does not turn webhooks on.
 */
function withSandboxConfig(given: SandboxCommandOptions, command: Command): SandboxCommandOptions {
  const config = loadConfig({ file: configFile(given) });
  const fromConfig = (name: string) => command.getOptionValueSource(name) !== 'cli';
  const wiring = sandboxWebhooks(config, configuredGatewayUrl(config.server));
  return {
    ...given,
    port: fromConfig('port') ? config.sandbox.port : given.port,
    host: fromConfig('host') ? config.sandbox.host : given.host,
    helpdeskWebhook: given.helpdeskWebhook ?? wiring.webhookUrl.helpdesk,
    crmWebhook: given.crmWebhook ?? wiring.webhookUrl.crm,
    helpdeskSecret: fromConfig('helpdeskSecret')
      ? (wiring.helpdeskSecret ?? given.helpdeskSecret)
      : given.helpdeskSecret,
    crmSecret: fromConfig('crmSecret') ? (wiring.crmSecret ?? given.crmSecret) : given.crmSecret,
  };
}

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
  .argument('<id>', 'event id', parseId)
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

events
  .command('redeliver')
  .description(
    'hand an event to its agents again (dead-lettered, acknowledged, superseded or echo), in its ' +
      "place in its record's order; a dlv_ id redelivers that delivery's events",
  )
  .argument('<id>', 'event id (evt_…) or delivery id (dlv_…)', parseId)
  .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
  .option('--agent <name>', 'only to this agent')
  .action(async (id: string, options: ConfigOption & { agent?: string }) => {
    await withDeliveryOps(options, async (ops, store) => {
      const requeued = await ops.run('redeliver', {
        id,
        agent: options.agent ?? null,
        now: Date.now(),
        dialect: store.dialect,
      });
      for (const row of requeued) process.stdout.write(`${row.event} requeued for ${row.agent}\n`);
    });
  });

const agents = program.command('agents').description('agents that propose actions');

agents
  .command('enable')
  .description('push to an agent again after its endpoint answered 410 Gone')
  .argument('<name>', 'agent name')
  .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
  .action(async (name: string, options: ConfigOption) => {
    await withDeliveryOps(options, async (ops, _store, config) => {
      if (!config.agents[name]?.deliver?.url) {
        throw new AppError(
          'agent-not-found',
          404,
          `no agent ${name} with a push endpoint (agents.${name}.deliver.url) in the config`,
        );
      }
      const enabled = await ops.run('enableEndpoint', { agent: name });
      process.stdout.write(
        enabled ? `pushing to ${name} again\n` : `${name}'s endpoint was not disabled\n`,
      );
    });
  });

agents
  .command('add')
  .description('create an agent and print its key, once')
  .argument('<name>', 'agent name (lower-case letters, digits, - or _)', parseAgentName)
  .requiredOption(
    '--operations <list>',
    'comma-separated operations it may propose',
    parseOperations,
  )
  .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
  .action(async (name: string, options: ConfigOption & { operations: string[] }) => {
    await withStore(
      options,
      async (store, config) => {
        const key = await addAgent(store, config.agents, name, options.operations);
        process.stdout.write(
          `agent ${name} may propose ${options.operations.join(', ')}\nkey (shown once, store it now): ${key}\n`,
        );
      },
      { create: true },
    );
  });

const actions = program.command('actions').description('proposed actions');

actions
  .command('retry')
  .description('queue a failed or dead action again; policy and the basis are checked again first')
  .argument('<id>', 'action id', parseId)
  .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
  .option('--as <name>', 'who asks, recorded with the retry; default cli:<OS user>', parseDecider)
  .action(async (id: string, options: ConfigOption & { as?: string }) => {
    await withStore(options, async (store, config) => {
      const action = await store.transaction((trx) =>
        retryAction(trx, {
          id,
          now: Date.now(),
          rateLimits: rateLimitRules(config.rateLimits),
          by: options.as ?? `cli:${userInfo().username}`,
          dialect: store.dialect,
        }),
      );
      process.stdout.write(`action ${action.action} is ${action.status}\n`);
    });
  });

actions
  .command('undo')
  .description(
    'undo an executed, reversible action: its inverse goes through the pipeline, on the revision ' +
      'the write left (a record changed since is refused as stale)',
  )
  .argument('<id>', 'action id', parseId)
  .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
  .option('--as <name>', 'who asks, recorded with the undo; default cli:<OS user>', parseDecider)
  .action(async (id: string, options: ConfigOption & { as?: string }) => {
    await withStore(options, async (store, config) => {
      // Its log goes to stderr: stdout is the answer, JSON a script can read.
      const log = createLogger(config.log, process.stderr);
      const gateway = await assembleGateway(config, store, { startWorker: false, log });
      try {
        const answer = await undoAction(
          gateway.propose,
          id,
          options.as ?? `cli:${userInfo().username}`,
        );
        if (answer.kind === 'error') throw answer.error;
        process.stdout.write(`${JSON.stringify(answer.body, null, 2)}\n`);
        // Answered, but the undo's write did not happen: a failure, said as such.
        const undone = answer.body as {
          action: string;
          status: string;
          error?: { message?: string };
        };
        if (undone.status === 'failed' || undone.status === 'dead') {
          throw new AppError(
            'undo-failed',
            502,
            `the undo ${undone.action} of ${id} ended ${undone.status}: ${undone.error?.message ?? 'no reason given'}`,
          );
        }
      } finally {
        await gateway.close();
      }
    });
  });

addAuditCommands(program, withStore);
addWhyCommand(program, withStore);
addApprovalCommands(program, withStore);
addAgentCommands(program);
addDemoCommand(program);

function parseAgentName(value: string): string {
  const parsed = agentName.safeParse(value);
  if (!parsed.success) {
    throw new InvalidArgumentError(`agent name: ${parsed.error.issues[0]?.message}`);
  }
  return value;
}

/** `withStore` with the store ops of event delivery, stopped before the store closes. */
function withDeliveryOps(
  options: ConfigOption,
  fn: (ops: DeliveryOps, store: Store, config: Config) => Promise<void>,
): Promise<void> {
  return withStore(options, async (store, config) => {
    const ops = createOpRunner(store, deliveryOps, DELIVERY_OPS_MODULE);
    try {
      await fn(ops, store, config);
    } finally {
      await ops.close();
    }
  });
}

function parsePort(value: string): number {
  // Digits only: Number('') and Number(' ') are 0, any free port.
  const port = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected a port number from 0 to 65535');
  }
  return port;
}

function parseChaos(value: string): Partial<ChaosOptions> {
  try {
    return parseChaosSpec(value);
  } catch (error) {
    throw new InvalidArgumentError(coerceError(error).message);
  }
}

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(seed)) {
    throw new InvalidArgumentError('expected a whole number');
  }
  return seed;
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

// A reader that stops early (`airlock events list | head`) closes the pipe: the rest of the
// output has no one to go to, and that is no error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  process.stderr.write(`airlock: stdout-failed: ${error.message}\n`);
  process.exit(1);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; every other commander error is a misuse of the command line.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  // The reader went away while a command was writing (see above).
  if ((error as NodeJS.ErrnoException).code === 'EPIPE') process.exit(0);
  const appError = coerceError(error);
  process.stderr.write(`airlock: ${appError.code}: ${appError.message}\n`);
  process.exit(1);
}
