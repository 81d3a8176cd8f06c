import { afterEach } from 'vitest';
import { OPERATION_NAMES } from '../../src/actions/index.js';
import { CRM_TYPES, SANDBOX_TYPES, type Sandbox } from '../../src/sandbox/index.js';
import type { Store } from '../../src/store/index.js';
import { createTestApp, sha256, type TestApp, testConfig } from '../../test/helpers/gateway.js';
import { type Answer, call, startSandbox } from '../../test/helpers/sandbox.js';
import { createTestDatabase, type TestDatabase } from '../../test/helpers/stores.js';
import { signStandardWebhook, ticketEventBody } from '../../test/helpers/webhooks.js';

/** The key of the one agent an e2e gateway knows: it may propose every operation. */
export const AGENT_KEY = 'ak_e2e_support_bot';

/** An order as the sandbox seeds it: what a proposal's basis needs. */
export interface SeededOrder {
  readonly id: string;
  readonly revision: number;
}

/** A gateway listening on loopback, over a fresh SQLite file, with the sandbox as every system. */
export interface E2eGateway {
  /** `http://127.0.0.1:port`: where the browser goes. */
  readonly url: string;
  readonly sandbox: Sandbox & { url: string };
  readonly gateway: TestApp;
  readonly store: Store;
}

/**
 * For a `describe` block: returns `start()`, which starts a sandbox, a SQLite database of the
 * test's own and a gateway listening on 127.0.0.1 with the sandbox as its `helpdesk`, `crm` and
 * `orders` connectors. All of it is closed, and the database removed, after each test.
 */
export function useGateway(): () => Promise<E2eGateway> {
  let opened:
    | { database: TestDatabase; store?: Store; gateway?: TestApp; sandbox?: Sandbox }
    | undefined;
  afterEach(async () => {
    await opened?.gateway?.close();
    await opened?.store?.close();
    await opened?.sandbox?.close();
    await opened?.database.drop();
    opened = undefined;
  });
  return async () => {
    opened = { database: createTestDatabase('sqlite') };
    const sandbox = await startSandbox();
    opened.sandbox = sandbox;
    const store = await opened.database.open();
    opened.store = store;
    const connector = { kind: 'sandbox', url: sandbox.url, timeout: '2s' };
    const gateway = await createTestApp(
      store,
      testConfig(opened.database.url, {
        agents: {
          'support-bot': { keySha256: sha256(AGENT_KEY), operations: [...OPERATION_NAMES] },
        },
        connectors: {
          helpdesk: { ...connector, types: SANDBOX_TYPES.helpdesk },
          crm: { ...connector, types: CRM_TYPES },
          orders: { ...connector, types: ['order'] },
        },
        actions: { wait: '2s', maxBackoff: '200ms' },
      }),
    );
    opened.gateway = gateway;
    const url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    return { url, sandbox, gateway, store };
  };
}

/** Seeds one open EUR 120 order. */
export function seedOrder(sandbox: Sandbox): SeededOrder {
  const [order] = sandbox.seed({ orders: [{ currency: 'EUR', subtotal: 120 }] }).orders;
  return { id: String(order?.id), revision: Number(order?.revision) };
}

/** Seeds one new ticket. */
export function seedTicket(sandbox: Sandbox): { id: string; revision: number } {
  const [ticket] = sandbox.seed({ tickets: [{ subject: 'Where is my order?' }] }).tickets;
  return { id: String(ticket?.id), revision: Number(ticket?.revision) };
}

/** Reads an order from the sandbox's own API: what really happened to it. */
export async function readOrder(
  sandbox: Sandbox & { url: string },
  id: string,
): Promise<{ status: string; revision: number; total: number }> {
  const answer = await call(sandbox.url, 'GET', `/orders/${id}`);
  if (answer.status !== 200) throw new Error(`reading order ${id}: HTTP ${answer.status}`);
  return answer.body.order;
}

/** Proposes an action over real HTTP as the agent; the gateway's answer. */
export function propose(
  gateway: E2eGateway,
  idempotencyKey: string,
  body: Record<string, unknown>,
): Promise<Answer> {
  return call(gateway.url, 'POST', '/v1/actions', body, {
    authorization: `Bearer ${AGENT_KEY}`,
    'idempotency-key': idempotencyKey,
  });
}

/**
 * Proposes to cancel the order: high risk, so it waits for a human. The approval and action ids.
 */
export async function proposeCancel(
  gateway: E2eGateway,
  order: SeededOrder,
  idempotencyKey: string,
): Promise<{ approval: string; action: string }> {
  const answer = await propose(gateway, idempotencyKey, {
    operation: 'order.cancel',
    target: { system: 'orders', type: 'order', id: order.id },
    params: { reason: 'customer asked' },
    basis: { revision: String(order.revision) },
  });
  if (answer.status !== 202 || answer.body?.status !== 'pending_approval') {
    throw new Error(`proposing a cancel: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return { approval: answer.body.approval, action: answer.body.action };
}

/** Reads an approval over the operator API. */
export async function readApproval(
  gateway: E2eGateway,
  id: string,
  token: string,
): Promise<{ status: string }> {
  const answer = await call(gateway.url, 'GET', `/v1/approvals/${id}`, undefined, {
    authorization: `Bearer ${token}`,
  });
  if (answer.status !== 200) throw new Error(`reading approval ${id}: HTTP ${answer.status}`);
  return answer.body;
}

/**
 * Posts a signed Standard Webhooks delivery about a ticket to `/hooks/demo`, as a provider does;
 * the stored event's id.
 */
export async function postTicketWebhook(
  gateway: E2eGateway,
  providerEventId: string,
  ticketId: string,
): Promise<string> {
  const body = ticketEventBody(ticketId);
  const answer = await call(
    gateway.url,
    'POST',
    '/hooks/demo',
    body,
    signStandardWebhook(body, providerEventId),
  );
  if (answer.status !== 202) {
    throw new Error(`posting a webhook: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return answer.body.event;
}
