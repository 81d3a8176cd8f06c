import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { ACTION_OPS_MODULE, actionOps } from '../actions/index.js';
import {
  APPROVAL_STATUSES,
  type ApprovalDeps,
  type ApprovalView,
  approveApproval,
  getApproval,
  listApprovals,
  rejectApproval,
} from '../approvals/index.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { createConnectors } from '../main.js';
import { compilePolicies } from '../policy/index.js';
import { type ApprovalStatus, createOpRunner, type Store } from '../store/index.js';
import { parseDecider, parseId } from './arguments.js';
import { alignedTable } from './table.js';

interface ConfigOption {
  readonly config?: string;
}

/** How main.ts runs a command against the configured store (opened, then closed), with the config. */
export type WithStoreAndConfig = (
  options: ConfigOption,
  fn: (store: Store, config: Config) => Promise<void>,
) => Promise<void>;

interface DecideOptions extends ConfigOption {
  readonly comment?: string;
  readonly as?: string;
}

/** What approving does beyond the store; commander prints it below the options, unwrapped. */
const APPROVE_HELP = `
The record is read and policy runs again first: when the record moved on, or policy now
denies, the approval ends stale (409 approval-stale) and nothing is executed. Otherwise the
action is queued. The CLI decides in the store directly: a running gateway's worker executes
the queued action within its poll interval (about a second).
`;

/** Adds `airlock approvals list|show|approve|reject`. */
export function addApprovalCommands(program: Command, withStore: WithStoreAndConfig): void {
  const approvals = program
    .command('approvals')
    .description('human approvals of high-risk actions');

  approvals
    .command('list')
    .description('approvals oldest first')
    .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
    .option(
      `--status <${APPROVAL_STATUSES.join('|')}>`,
      'only approvals in this status',
      parseStatus,
    )
    .option('--limit <n>', 'how many (1-500)', parseLimit, 50)
    .option('--cursor <id>', 'the next-page cursor printed by the previous page')
    .option('--json', 'print JSON')
    .action(
      async (
        options: ConfigOption & {
          status?: ApprovalStatus;
          limit: number;
          cursor?: string;
          json?: boolean;
        },
      ) => {
        await withStore(options, async (store) => {
          const page = await listApprovals(
            { store },
            { status: options.status, limit: options.limit, cursor: options.cursor },
          );
          process.stdout.write(
            options.json ? `${JSON.stringify(page, null, 2)}\n` : printApprovalPage(page),
          );
        });
      },
    );

  approvals
    .command('show')
    .description('one approval, with what was decided')
    .argument('<id>', 'approval id', parseId)
    .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
    .option('--json', 'print JSON')
    .action(async (id: string, options: ConfigOption & { json?: boolean }) => {
      await withStore(options, async (store) => {
        const approval = await getApproval({ store }, id);
        process.stdout.write(
          options.json ? `${JSON.stringify(approval, null, 2)}\n` : printApproval(approval),
        );
      });
    });

  for (const [verb, decide, description, outcome, help] of [
    [
      'approve',
      approveApproval,
      'approve a pending approval; its action is checked again, then queued',
      'queued for execution',
      APPROVE_HELP,
    ],
    [
      'reject',
      rejectApproval,
      'reject a pending approval; its action ends rejected, never executed',
      'rejected, never executed',
      '',
    ],
  ] as const) {
    approvals
      .command(verb)
      .description(description)
      .argument('<id>', 'approval id', parseId)
      .option('-c, --config <file>', 'config file (YAML); default $AIRLOCK_CONFIG')
      .option('--comment <text>', 'why, kept with the decision', parseComment)
      .option('--as <name>', 'who decides; default cli:<OS user name>', parseDecider)
      .addHelpText('after', help)
      .action(async (id: string, options: DecideOptions) => {
        await withStore(options, async (store, config) => {
          const by = options.as ?? osDecider();
          const approval = await withApprovalDeps(store, config, (deps) =>
            decide(deps, id, { by, comment: options.comment }),
          );
          process.stdout.write(
            `approval ${approval.approval} ${approval.status} by ${approval.decidedBy}; ` +
              `action ${approval.action} is ${outcome}\n`,
          );
        });
      });
  }
}

/** Runs `fn` with the deps the gateway decides approvals with (less its worker), then closes them. */
async function withApprovalDeps<T>(
  store: Store,
  config: Config,
  fn: (deps: ApprovalDeps) => Promise<T>,
): Promise<T> {
  const ops = createOpRunner(store, actionOps, ACTION_OPS_MODULE);
  try {
    return await fn({
      store,
      ops,
      connectors: createConnectors(config),
      policies: compilePolicies(config.policies),
      limits: { discountApprovalAbove: config.actions.discountApprovalAbove },
      now: () => Date.now(),
    });
  } finally {
    await ops.close();
  }
}

/** `cli:<OS user name>`: who ran the command, when `--as` does not say. */
function osDecider(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch (error) {
    throw new AppError('decider-unknown', 400, 'the OS user name is unknown; pass --as NAME', {
      cause: error,
    });
  }
}

/** A page of approvals as aligned text lines, and the option for the next page. */
function printApprovalPage(page: { approvals: ApprovalView[]; next: string | null }): string {
  if (page.approvals.length === 0) return 'no approvals\n';
  const rows = [
    ['ID', 'STATUS', 'OPERATION', 'TARGET', 'AGENT', 'REASON', 'EXPIRES'],
    ...page.approvals.map((approval) => [
      approval.approval,
      approval.status,
      approval.operation,
      targetText(approval.target),
      approval.agent,
      approval.reason,
      approval.expiresAt,
    ]),
  ];
  return alignedTable(rows, page.next);
}

/** One approval in full. */
function printApproval(approval: ApprovalView): string {
  const decided = approval.decidedAt
    ? `${approval.decidedBy ?? '-'} at ${approval.decidedAt}`
    : '-';
  const lines = [
    `approval        ${approval.approval}`,
    `status          ${approval.status}`,
    `action          ${approval.action}`,
    `operation       ${approval.operation}`,
    `target          ${targetText(approval.target)}`,
    `agent           ${approval.agent}`,
    `reason          ${approval.reason}`,
    `basis revision  ${approval.basisRevision ?? '-'}`,
    `params digest   ${approval.paramsDigest}`,
    `policy version  ${approval.policyVersion}`,
    `created at      ${approval.createdAt}`,
    `expires at      ${approval.expiresAt}`,
    `decided         ${decided}`,
    `comment         ${approval.comment ?? '-'}`,
  ];
  if (approval.outcome !== null) lines.push('outcome', JSON.stringify(approval.outcome, null, 2));
  return `${lines.join('\n')}\n`;
}

function targetText(target: unknown): string {
  const { system, type, id } = target as { system: string; type: string; id: string };
  return `${system}:${type}:${id}`;
}

function parseStatus(value: string): ApprovalStatus {
  const status = APPROVAL_STATUSES.find((known) => known === value);
  if (!status) throw new InvalidArgumentError(`expected one of ${APPROVAL_STATUSES.join(', ')}`);
  return status;
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw new InvalidArgumentError('expected a whole number from 1 to 500');
  }
  return limit;
}

/** The same bounds as a comment sent over HTTP. */
function parseComment(value: string): string {
  const comment = value.trim();
  if (comment.length < 1 || comment.length > 2000) {
    throw new InvalidArgumentError('expected a comment of 1 to 2000 characters');
  }
  return comment;
}
