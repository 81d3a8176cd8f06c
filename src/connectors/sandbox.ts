import { describeIssues } from '../errors.js';
import {
  type Connector,
  ConnectorCallError,
  type ReconcileOutcome,
  type RecordRef,
  type RecordSnapshot,
  type WriteOutcome,
} from './connector.js';
import { crmOperations } from './sandbox/crm-operations.js';
import { createSandboxHttp, type HttpResult } from './sandbox/http.js';
import type { SandboxContext, SandboxOperation } from './sandbox/operation.js';
import { orderOperations } from './sandbox/order-operations.js';
import { failureOf, isTransient, problemText, retryAfterMs } from './sandbox/outcome.js';
import { fetchRecord } from './sandbox/records.js';
import { ticketOperations } from './sandbox/ticket-operations.js';

/** The settings of one sandbox connector (one `connectors:` entry of `kind: sandbox`). */
export interface SandboxConnectorOptions {
  /** The connector's name in the config; every ref it returns names it as `system`. */
  readonly system: string;
  /** The sandbox's base URL, e.g. `http://127.0.0.1:8081`. */
  readonly url: string;
  /** Per HTTP call, answer body included, ms. Default 5000. */
  readonly timeoutMs?: number | undefined;
  /** Sent as `X-Actor` on every call and echoed in the sandbox's webhooks. Default `airlock`. */
  readonly actor?: string | undefined;
}

const OPERATIONS: ReadonlyMap<string, SandboxOperation> = new Map(
  Object.entries({ ...ticketOperations, ...crmOperations, ...orderOperations }),
);

/** Operations the sandbox connector can execute. */
export const SANDBOX_OPERATIONS: readonly string[] = [...OPERATIONS.keys()];

/**
 * The connector for Airlock's sandbox, over HTTP. Tickets and orders take the expected revision
 * down (the system refuses a stale one); CRM writes read and compare first (the CRM cannot);
 * creates carry the idempotency key (ticket `Idempotency-Key`, CRM and discount `airlock_key`)
 * and comments the action id as a marker, which is how `reconcile` finds a write that landed.
 */
export function createSandboxConnector(options: SandboxConnectorOptions): Connector {
  const ctx: SandboxContext = {
    system: options.system,
    http: createSandboxHttp({
      url: options.url,
      timeoutMs: options.timeoutMs ?? 5000,
      actor: options.actor ?? 'airlock',
    }),
  };

  return {
    async read(ref: RecordRef): Promise<RecordSnapshot | null> {
      const fetched = await fetchRecord(ctx.http, ref.type, ref.id);
      if (fetched.kind === 'missing') return null;
      if (fetched.kind === 'failed') throw readError(ref, fetched.result);
      return { ref: { ...ref, system: ctx.system }, ...fetched.record };
    },

    async execute(request): Promise<WriteOutcome> {
      const resolved = resolve(request.operation, request.target, request.params);
      if ('refused' in resolved)
        return { kind: 'permanent', status: 422, message: resolved.refused };
      try {
        return await resolved.operation.execute(ctx, request, resolved.params);
      } catch (error) {
        // Not expected (every HTTP failure is a value), but the request may have been sent:
        // say so rather than claim it did not happen.
        return { kind: 'ambiguous', message: `connector error: ${String(error)}` };
      }
    },

    async reconcile(request): Promise<ReconcileOutcome> {
      const resolved = resolve(request.operation, request.target, request.params);
      // An operation this connector refuses was never sent.
      if ('refused' in resolved) return { kind: 'not_applied' };
      try {
        return await resolved.operation.reconcile(ctx, request, resolved.params);
      } catch (error) {
        // As for execute: not expected, and the lookup may have been sent.
        return {
          kind: 'unknown',
          message: `connector error: ${String(error)}`,
          failure: 'timeout',
        };
      }
    },

    async related(ref: RecordRef): Promise<RecordRef[]> {
      const fetched = await fetchRecord(ctx.http, ref.type, ref.id);
      if (fetched.kind === 'missing') return [];
      if (fetched.kind === 'failed') throw readError(ref, fetched.result);
      return relatedOf(ctx, ref.type, fetched.record.data);
    },
  };
}

function resolve(
  name: string,
  target: RecordRef,
  params: Readonly<Record<string, unknown>>,
): { operation: SandboxOperation; params: Record<string, unknown> } | { refused: string } {
  const operation = OPERATIONS.get(name);
  if (!operation) return { refused: `the sandbox has no operation ${name}` };
  if (!operation.targetTypes.includes(target.type)) {
    return { refused: `${name} cannot target a ${target.type}` };
  }
  const parsed = operation.params.safeParse(params);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error.issues, 'params');
    return { refused: `invalid params for ${name}: ${problems.join('; ')}` };
  }
  return { operation, params: parsed.data };
}

/**
 * Who a record concerns: a ticket's requester, an order's customer, the contacts a deal, note
 * or email is associated with.
 */
function relatedOf(ctx: SandboxContext, type: string, data: Record<string, unknown>): RecordRef[] {
  const contact = (id: unknown) => ({ system: ctx.system, type: 'contact', id: String(id) });
  if (type === 'ticket') return data.requesterId ? [contact(data.requesterId)] : [];
  if (type === 'order') return data.contactId ? [contact(data.contactId)] : [];
  const links = (data.associations as { type: string; id: string }[] | undefined) ?? [];
  return links.map((link) => ({ system: ctx.system, type: link.type, id: link.id }));
}

/**
 * A read that did not answer the record. Not answered, 408, 429 or 5xx: 503, try again. Another
 * 4xx refuses the request for this one record, whose only variable part is the id: 422
 * `invalid-target`, the caller's to fix; unless it refuses our credentials (401, 403, 407), or
 * the answer is no error at all: 502, the gateway's.
 */
function readError(ref: RecordRef, result: HttpResult): ConnectorCallError {
  const what = `${ref.type} ${ref.id}`;
  const failure = failureOf(result);
  if (result.kind !== 'response') {
    return new ConnectorCallError(
      failure,
      'connector-unavailable',
      503,
      `reading ${what}: ${result.message}`,
    );
  }
  const { status } = result;
  const message = `reading ${what}: ${problemText(result)}`;
  if (isTransient(status)) {
    const after = retryAfterMs(result.headers);
    return new ConnectorCallError(
      failure,
      'connector-unavailable',
      503,
      message,
      after === null ? {} : { details: { retryAfterSeconds: Math.ceil(after / 1000) } },
    );
  }
  const credentials = status === 401 || status === 403 || status === 407;
  if (status < 400 || credentials) {
    return new ConnectorCallError(failure, 'connector-error', 502, message);
  }
  return new ConnectorCallError(
    failure,
    'invalid-target',
    422,
    `${ref.system} refuses to read ${what}: ${problemText(result)}`,
    { details: { target: ref, status } },
  );
}
