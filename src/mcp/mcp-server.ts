import { randomUUID } from 'node:crypto';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { type CallToolResult, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CatalogueLimits } from '../actions/catalogue.js';
import { operationTools, type ToolArguments, toolInputSchema } from '../actions/tools.js';
import type { Agent } from '../agents/index.js';
import { deriveIdempotencyKey } from '../client/idempotency-key.js';
import type { RecordRef } from '../connectors/connector.js';
import { coerceError } from '../errors.js';
import { problemType } from '../http/problem.js';
import { VERSION } from '../version.js';

/** Where an MCP server's calls go: the gateway in this process, or one over HTTP. */
export interface McpBackend {
  /**
   * Proposes `operation` with `body` (`POST /v1/actions` without `operation`) under the key;
   * answers as the gateway does: the status and the action, dry-run view or problem document.
   */
  propose(
    operation: string,
    body: Omit<ToolArguments, 'idempotencyKey'>,
    idempotencyKey: string,
  ): Promise<{ status: number; body: unknown }>;
  /** The record as it is now (`GET /v1/records/…`): ref, revision, fields, readAt. Throws. */
  readRecord(ref: RecordRef): Promise<unknown>;
}

/** What a tool call answers in `structuredContent`. */
export type ToolOutcome =
  | { outcome: 'executed' | 'queued' | 'failed'; action: unknown }
  | { outcome: 'pending_approval'; approval: string; action: unknown }
  | { outcome: 'dry_run'; wouldBe: unknown }
  | { outcome: 'refused'; problem: unknown };

export const RECORD_URI_TEMPLATE = 'airlock://records/{system}/{type}/{id}';

const SERVER_INFO = { name: 'airlock', version: VERSION };

/**
 * An MCP server for one agent: a tool per operation it may propose, each call a proposal through
 * the gateway's pipeline; and the records as resources (`airlock://records/{system}/{type}/{id}`).
 * A call without an `idempotencyKey` gets one derived from what it does, so a repeated call is
 * answered, not executed twice.
 */
export function createMcpServer(
  backend: McpBackend,
  agent: Agent,
  options: {
    /** The config's thresholds, for the tools' descriptions. */
    limits?: CatalogueLimits;
    /** Told of a call that failed in the gateway (not a refusal), to log it. */
    onError?: (error: unknown) => void;
  } = {},
): McpServer {
  const server = new McpServer(SERVER_INFO, {
    instructions:
      `You act as agent ${agent.name} through Airlock. Each tool proposes one write; Airlock ` +
      'checks it against the record as it is now and policy, and answers executed, queued, ' +
      'pending_approval or refused (with why). Read a record as ' +
      'airlock://records/{system}/{type}/{id} and pass its revision as basis.revision.',
  });
  for (const tool of operationTools(agent.operations, options.limits)) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: toolInputSchema(tool.operation),
        annotations: tool.annotations,
      },
      async (args) => {
        const { idempotencyKey, ...body } = args;
        // A dry run's derived key would hold its answer, and the real call after it, with the
        // same key and another body, would be refused as a key reuse: it gets a key of its own.
        const key =
          idempotencyKey ??
          (body.dryRun
            ? `airlock-dry-run-${randomUUID()}`
            : deriveIdempotencyKey({
                operation: tool.operation,
                target: body.target,
                events: body.basis?.events ?? [],
                params: body.params,
              }));
        let answer: { status: number; body: unknown };
        try {
          answer = await backend.propose(tool.operation, body, key);
        } catch (error) {
          const problem = problemAnswer(error);
          if (problem.status >= 500) options.onError?.(error);
          answer = problem;
        }
        return toolResult(tool.operation, key, answer);
      },
    );
  }
  server.registerResource(
    'record',
    new ResourceTemplate(RECORD_URI_TEMPLATE, { list: undefined }),
    {
      title: 'A record as it is now',
      description:
        'The current fields and revision of a record in a connected system; state the revision ' +
        'as basis.revision when proposing a change to it.',
      mimeType: 'application/json',
    },
    async (uri, variables) => {
      const value = (name: string) => {
        try {
          return decodeURIComponent(String(variables[name]));
        } catch {
          throw new McpError(
            ErrorCode.InvalidParams,
            `${uri.href}: the ${name} is not URI-encoded`,
          );
        }
      };
      const record = await backend
        .readRecord({ system: value('system'), type: value('type'), id: value('id') })
        .catch((error: unknown) => {
          throw asResourceError(uri.href, error);
        });
      return {
        contents: [
          { uri: uri.href, mimeType: 'application/json', text: JSON.stringify(record, null, 2) },
        ],
      };
    },
  );
  return server;
}

/** MCP's code for a resource that is not there (the specification's "Resource not found"). */
const RESOURCE_NOT_FOUND = -32002;

/**
 * A failed read of a record resource as MCP says it: not there (404) as "resource not found",
 * any other refusal of the request (4xx: a type its system does not serve) as invalid params,
 * with the gateway's reason. The gateway's own failures stay internal errors.
 */
function asResourceError(uri: string, error: unknown): unknown {
  const status = (error as { status?: unknown }).status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = status === 404 ? RESOURCE_NOT_FOUND : ErrorCode.InvalidParams;
  return new McpError(code, `${uri}: ${message}`, { uri, status });
}

/**
 * An error as the problem document the gateway would answer with. An error of ours (not an
 * `AppError`) keeps its message to the log: the agent is told only that it happened.
 */
export function problemAnswer(error: unknown): { status: number; body: unknown } {
  const appError = coerceError(error);
  const detail =
    appError.code === 'internal' ? 'internal error in the gateway; it is logged' : appError.message;
  return {
    status: appError.status,
    body: {
      ...appError.details,
      type: problemType(appError.code),
      title: appError.code.replaceAll('-', ' '),
      status: appError.status,
      detail,
    },
  };
}

/** A gateway answer as a tool result: refusals and failed writes are `isError`. */
export function toolResult(
  operation: string,
  key: string,
  answer: { status: number; body: unknown },
): CallToolResult {
  const outcome = toOutcome(answer);
  const structuredContent = { ...outcome, idempotencyKey: key };
  return {
    content: [
      {
        type: 'text',
        text: `${summarise(operation, outcome)}\n${JSON.stringify(structuredContent, null, 2)}`,
      },
    ],
    structuredContent,
    ...(outcome.outcome === 'refused' || outcome.outcome === 'failed' ? { isError: true } : {}),
  };
}

function toOutcome({ status, body }: { status: number; body: unknown }): ToolOutcome {
  if (status >= 400) return { outcome: 'refused', problem: body };
  const view = (body ?? {}) as { dryRun?: boolean; status?: string; approval?: string | null };
  if (view.dryRun) return { outcome: 'dry_run', wouldBe: body };
  switch (view.status) {
    case 'executed':
      return { outcome: 'executed', action: body };
    case 'pending_approval':
      return { outcome: 'pending_approval', approval: view.approval ?? '', action: body };
    case 'failed':
    case 'dead':
      return { outcome: 'failed', action: body };
    default:
      // Accepted and not settled within the gateway's wait: queued or executing.
      return { outcome: 'queued', action: body };
  }
}

function summarise(operation: string, outcome: ToolOutcome): string {
  const id = (value: unknown) => (value as { action?: string } | null)?.action ?? '?';
  switch (outcome.outcome) {
    case 'executed':
      return `${operation} executed (action ${id(outcome.action)}).`;
    case 'queued':
      return (
        `${operation} accepted and queued (action ${id(outcome.action)}); it will be executed. ` +
        'Call again with the same idempotencyKey to learn its outcome.'
      );
    case 'pending_approval':
      return (
        `${operation} waits for a human approval (approval ${outcome.approval}, action ` +
        `${id(outcome.action)}); it is executed only once approved.`
      );
    case 'failed':
      return `${operation} was accepted but the write failed (action ${id(outcome.action)}).`;
    case 'dry_run':
      return `${operation} dry run: nothing was written.`;
    case 'refused': {
      const problem = (outcome.problem ?? {}) as { type?: string; detail?: string };
      const code = problem.type?.replace(/^urn:airlock:problem:/, '') ?? 'error';
      const hint =
        code === 'idempotency-key-reuse'
          ? ' The same operation on the same record and basis events (or with the same ' +
            'idempotencyKey) was proposed before with other content; for a new decision, give ' +
            'a new idempotencyKey.'
          : '';
      return `${operation} refused (${code}): ${problem.detail ?? 'no detail'}.${hint}`;
    }
  }
}
