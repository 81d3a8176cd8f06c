import { expect } from 'vitest';
import { OPERATION_NAMES } from '../../src/actions/index.js';
import {
  DEFAULT_CRM_SECRET,
  DEFAULT_HELPDESK_SECRET,
  SANDBOX_TYPES,
  type Sandbox,
} from '../../src/sandbox/index.js';
import type { Store } from '../../src/store/index.js';
import { APPROVER_TOKEN, createTestApp, sha256, type TestApp, testConfig } from './gateway.js';
import { freePort } from './gateway-process.js';
import { postAction } from './propose.js';
import { call, startSandbox } from './sandbox.js';
import type { TestDatabase } from './stores.js';

export const LOOP_AGENT_KEY = 'ak_echo_loop_agent';

/**
 * A gateway listening on loopback and a sandbox whose webhooks come back to it, signed as
 * Zendesk (`/hooks/helpdesk`) and HubSpot (`/hooks/crm`) sign theirs: the embedded setting
 * (`airlock.yaml`) in one test process. Orders live in the CRM: target them as `crm:order:…`.
 */
export interface EchoLoop {
  readonly store: Store;
  readonly gateway: TestApp;
  readonly sandbox: Sandbox & { url: string };
  close(): Promise<void>;
}

export async function startEchoLoop(
  database: TestDatabase,
  options: { deliver?: Record<string, unknown> } = {},
): Promise<EchoLoop> {
  // The sandbox is told where to send its webhooks when it is made, and the gateway's config
  // names the sandbox: so the gateway's port is chosen first.
  const port = await freePort();
  const hooks = `http://127.0.0.1:${port}/hooks`;
  const sandbox = await startSandbox({
    webhookUrl: { helpdesk: `${hooks}/helpdesk`, crm: `${hooks}/crm` },
  });
  const store = await database.open();
  const connector = { kind: 'sandbox', url: sandbox.url, timeout: '2s' };
  const gateway = await createTestApp(
    store,
    testConfig(database.url, {
      sources: {
        helpdesk: { scheme: 'zendesk', secrets: [DEFAULT_HELPDESK_SECRET] },
        crm: { scheme: 'hubspot-v3', secrets: [DEFAULT_CRM_SECRET] },
      },
      connectors: {
        helpdesk: { ...connector, types: SANDBOX_TYPES.helpdesk },
        crm: { ...connector, types: SANDBOX_TYPES.crm },
      },
      agents: {
        bot: {
          keySha256: sha256(LOOP_AGENT_KEY),
          operations: [...OPERATION_NAMES],
          ...(options.deliver ? { deliver: options.deliver } : {}),
        },
      },
      delivery: { poll: 20 },
      actions: { wait: '3s' },
    }),
  );
  await gateway.app.listen({ host: '127.0.0.1', port });
  return {
    store,
    gateway,
    sandbox,
    close: async () => {
      await sandbox.close();
      await gateway.close();
      await store.close();
    },
  };
}

/** The ids `playReplyAndCancel` made. */
export interface PlayedChain {
  readonly ticket: string;
  /** The customer's comment, as the inbox event Airlock received. */
  readonly event: string;
  readonly providerEventId: string;
  readonly reply: string;
  readonly replyKey: string;
  /** The events the reply's write caused. */
  readonly replyEchoes: string[];
  readonly order: string;
  readonly cancel: string;
  readonly approval: string;
  readonly cancelEchoes: string[];
}

/**
 * Two chains through the loop. A customer comments on a ticket; the webhook arrives; the agent
 * replies with the event as its basis; the reply is executed and its echo arrives. And the agent
 * proposes to cancel an order (high risk), an approver approves it, it is executed and its echo
 * arrives.
 */
export async function playReplyAndCancel(loop: EchoLoop): Promise<PlayedChain> {
  const { sandbox, store, gateway } = loop;
  const seeded = sandbox.seed({
    tickets: [{ subject: 'Where is my order?' }],
    orders: [{ currency: 'EUR', subtotal: 120 }],
  });
  const ticket = seeded.tickets[0] as { id: string };
  const order = seeded.orders[0] as { id: string; revision: number };

  const commented = await call(sandbox.url, 'PUT', `/api/tickets/${ticket.id}`, {
    comment: { kind: 'message', body: 'It has been two weeks.' },
  });
  expect(commented.status).toBe(200);
  await sandbox.webhooksSettled();
  const event = await store.db
    .selectFrom('events')
    .select(['id', 'provider_event_id'])
    .where('record_id', '=', ticket.id)
    .where('type', '=', 'zen:event-type:ticket.comment_added')
    .executeTakeFirstOrThrow();
  const before = await eventsAbout(store, ticket.id);

  const propose = (key: string, body: Record<string, unknown>) =>
    postAction(gateway.app, LOOP_AGENT_KEY, key, body);
  const replyKey = 'k-reply';
  const replied = await propose(replyKey, {
    operation: 'ticket.reply',
    target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
    params: { body: 'It ships today.' },
    basis: { revision: String(commented.body.ticket.revision), events: [event.id] },
    decision: {
      model: 'test-model',
      summary: 'the customer asks where the order is',
      context: { orderStatus: 'open' },
    },
  });
  expect(replied.json()).toMatchObject({ status: 'executed' });

  const proposed = await propose('k-cancel', {
    operation: 'order.cancel',
    target: { system: 'crm', type: 'order', id: order.id },
    params: { reason: 'customer asked' },
    basis: { revision: String(order.revision) },
  });
  expect(proposed.json()).toMatchObject({ status: 'pending_approval' });
  const { action: cancel, approval } = proposed.json() as { action: string; approval: string };
  const approved = await gateway.app.inject({
    method: 'POST',
    url: `/v1/approvals/${approval}/approve`,
    headers: { authorization: `Bearer ${APPROVER_TOKEN}` },
    payload: { comment: 'confirmed by phone' },
  });
  expect(approved.statusCode).toBe(200);
  await waitFor(async () => (await statusOf(store, cancel)) === 'executed');
  await sandbox.webhooksSettled();

  const reply = replied.json().action as string;
  return {
    ticket: ticket.id,
    event: event.id,
    providerEventId: event.provider_event_id,
    reply,
    replyKey,
    replyEchoes: (await eventsAbout(store, ticket.id)).filter((id) => !before.includes(id)),
    order: order.id,
    cancel,
    approval,
    cancelEchoes: await eventsAbout(store, order.id),
  };
}

async function statusOf(store: Store, action: string) {
  const row = await store.db
    .selectFrom('actions')
    .select('status')
    .where('id', '=', action)
    .executeTakeFirst();
  return row?.status;
}

/** Ids of the events about the record (ids are unique across the sandbox's types), oldest first. */
async function eventsAbout(store: Store, recordId: string): Promise<string[]> {
  const rows = await store.db
    .selectFrom('events')
    .select('id')
    .where('record_id', '=', recordId)
    .orderBy('id')
    .execute();
  return rows.map((row) => row.id);
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
