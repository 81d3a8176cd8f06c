import { type Command, InvalidArgumentError } from 'commander';
import { OPERATION_NAMES } from '../actions/index.js';
import { operationTools, TOOL_FORMATS, type ToolFormat, toolsForFormat } from '../actions/tools.js';
import { loadConfig, loadServerConfig } from '../config.js';
import { AppError } from '../errors.js';
import { configuredGatewayUrl } from '../main.js';
import { serveMcpOverStdio } from '../mcp/index.js';
import { parseOperations, parseUrl } from './arguments.js';
import { configFile, openConfiguredStore } from './store-access.js';

interface ToolsOptions {
  readonly format: ToolFormat;
  readonly config?: string;
  readonly agent?: string;
  readonly operations?: string[];
}

/**
 * Adds what agents are connected with: `airlock mcp` (MCP over stdio, proposing through a
 * gateway) and `airlock tools` (the catalogue as function-calling tool definitions).
 */
export function addAgentCommands(program: Command): void {
  program
    .command('mcp')
    .description(
      'serve MCP over stdio as one agent: its operations as tools, each call proposed to the ' +
        'gateway; logs go to stderr',
    )
    .option('--url <url>', 'the gateway, e.g. http://127.0.0.1:8080', parseUrl)
    .requiredOption('--key <key>', "the agent's key, or env:NAME to read it from $NAME", parseKey)
    .option(
      '-c, --config <file>',
      "the gateway's config, for its address (server.host and server.port) when --url is not given",
    )
    .action(async (given: { url?: string; key: string; config?: string }, command: Command) => {
      const url = given.url ?? gatewayOf(given, command);
      await serveMcpOverStdio({ url, key: given.key });
    });

  program
    .command('tools')
    .description(
      'print the operations as tool definitions for function calling (JSON); all of them unless ' +
        'an agent or a list is given',
    )
    .requiredOption('--format <format>', `${TOOL_FORMATS.join(' or ')}`, parseFormat)
    .option('-c, --config <file>', 'config file (YAML) with the agent; default $AIRLOCK_CONFIG')
    .option('--agent <name>', 'only the operations this agent may propose')
    .option('--operations <list>', 'only these operations (comma-separated)', parseOperations)
    .action(async (options: ToolsOptions, command: Command) => {
      if (options.agent && options.operations) {
        command.error('error: give --agent or --operations, not both', { exitCode: 2 });
      }
      let operations: readonly string[] = options.operations ?? OPERATION_NAMES;
      let limits: { discountApprovalAbove: number } | undefined;
      if (options.agent || options.config) {
        const file = configFile(options);
        const config = loadConfig({ file });
        limits = { discountApprovalAbove: config.actions.discountApprovalAbove };
        if (options.agent) operations = await operationsOf(config, file, options.agent);
      }
      const tools = toolsForFormat(operationTools(operations, limits), options.format);
      process.stdout.write(`${JSON.stringify(tools, null, 2)}\n`);
    });
}

/** The gateway's URL from `--config` (or `$AIRLOCK_CONFIG`); misuse when there is neither. */
function gatewayOf(options: { config?: string }, command: Command): string {
  const file = configFile(options);
  if (!file) {
    command.error("error: give the gateway's --url, or its --config", { exitCode: 2 });
  }
  return configuredGatewayUrl(loadServerConfig({ file }));
}

/** The operations of an agent of the config, or else of one added with `airlock agents add`. */
async function operationsOf(
  config: ReturnType<typeof loadConfig>,
  file: string | undefined,
  name: string,
): Promise<readonly string[]> {
  const configured = config.agents[name];
  if (configured) return configured.operations;
  const store = await openConfiguredStore(config, file);
  try {
    const row = await store.db
      .selectFrom('agents')
      .select('operations')
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw new AppError('agent-not-found', 404, `no agent ${name}`);
    return JSON.parse(row.operations) as string[];
  } finally {
    await store.close();
  }
}

function parseFormat(value: string): ToolFormat {
  if (!(TOOL_FORMATS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected ${TOOL_FORMATS.join(' or ')}`);
  }
  return value as ToolFormat;
}

function parseKey(value: string): string {
  if (!value.startsWith('env:')) return value;
  const name = value.slice('env:'.length);
  const key = process.env[name];
  if (!key) throw new InvalidArgumentError(`the environment variable ${name} is not set`);
  return key;
}
