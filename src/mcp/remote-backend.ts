import type { OperationName } from '../actions/catalogue.js';
import type { Agent } from '../agents/index.js';
import { type AirlockClient, AirlockError } from '../client/index.js';
import { AppError } from '../errors.js';
import type { McpBackend } from './mcp-server.js';

/**
 * A gateway over HTTP, as the agent whose key the client holds: what `airlock mcp` serves over
 * stdio. A problem the gateway answers (a refusal, 400, 401) is handed back as it is.
 */
export function createRemoteBackend(client: AirlockClient): McpBackend {
  return {
    async propose(operation, body, idempotencyKey) {
      try {
        const result = await client.propose({
          ...body,
          // The gateway checks the params; the tool's schema has checked them already.
          operation: operation as OperationName,
          params: body.params as never,
          idempotencyKey,
        });
        switch (result.outcome) {
          case 'dry_run':
            return { status: result.status, body: result.dryRun };
          case 'refused':
            return { status: result.status, body: result.problem };
          default:
            return { status: result.status, body: result.action };
        }
      } catch (error) {
        if (!(error instanceof AirlockError)) throw error;
        if (error.problem && error.status !== null) {
          return { status: error.status, body: error.problem };
        }
        // No answer from the gateway (unreachable, timeout): whether it was accepted is unknown;
        // the same call again, with the same key, is safe.
        throw new AppError(error.code, 502, `${error.message}; call again to learn the outcome`, {
          cause: error,
        });
      }
    },
    readRecord: (ref) => client.readRecord(ref),
  };
}

/**
 * `GET /v1/agents/me`: the agent a key belongs to and what it may propose. Throws
 * `unauthorized` for a key the gateway does not know, `gateway-unavailable` when it cannot say.
 */
export async function fetchAgent(url: string, key: string): Promise<Agent> {
  const where = `${url.replace(/\/+$/, '')}/v1/agents/me`;
  let response: Response;
  try {
    response = await fetch(where, {
      headers: { authorization: `Bearer ${key}`, accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
  } catch (cause) {
    throw new AppError('gateway-unavailable', 502, `GET ${where}: ${(cause as Error).message}`, {
      cause,
    });
  }
  const body = (await response.json().catch(() => null)) as {
    name?: unknown;
    operations?: unknown;
    detail?: unknown;
  } | null;
  if (response.status === 401) {
    throw new AppError('unauthorized', 401, `the gateway at ${url} does not know this agent key`);
  }
  if (
    !response.ok ||
    typeof body?.name !== 'string' ||
    !Array.isArray(body.operations) ||
    !body.operations.every((operation) => typeof operation === 'string')
  ) {
    throw new AppError(
      'gateway-unavailable',
      502,
      `GET ${where} answered HTTP ${response.status}${typeof body?.detail === 'string' ? `: ${body.detail}` : ''}`,
    );
  }
  return { name: body.name, operations: body.operations as string[] };
}
