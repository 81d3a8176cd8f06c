import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LOOP_AGENT_KEY, startEchoLoop } from '../../test/helpers/echo-loop.js';
import { APPROVER_TOKEN } from '../../test/helpers/gateway.js';
import { freePort } from '../../test/helpers/gateway-process.js';
import { call } from '../../test/helpers/sandbox.js';
import { createTestDatabase } from '../../test/helpers/stores.js';
import { createSandbox, type Sandbox } from '../sandbox/index.js';
import {
  type AgentFaults,
  type AgentTrigger,
  createAgentCore,
  DEFAULT_FAULTS,
  ECHO_REPLIES_PER_TICKET,
  NO_FAULTS,
} from './agent.js';
import { startAirlockAgent } from './agent-airlock.js';
import { startDirectAgent } from './agent-direct.js';
import { startApprover } from './approver.js';
import { type Intent, intentTag, leadMarker, replyMarker, type SeededWorld } from './model.js';

/** Closed after each test, last opened first. */
const opened: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const resource of opened.splice(0).reverse()) await resource.close();
});

/** Two customers, each with a contact, an open order and a ticket. */
async function orderStatus(sandboxUrl: string, order: string): Promise<string> {
  return (await call(sandboxUrl, 'GET', `/orders/${order}`)).body.order.status as string;
}

function seedCustomers(sandbox: Sandbox): SeededWorld {
  const { contacts } = sandbox.seed({
    contacts: [
      { properties: { email: 'ada@example.com', name: 'Ada' } },
      { properties: { email: 'bob@example.com', name: 'Bob' } },
    ],
  });
  const ids = contacts.map((contact) => String(contact.id));
  const { tickets, orders } = sandbox.seed({
    tickets: ids.map((id) => ({ subject: 'My order', requesterId: id })),
    orders: ids.map((id) => ({ currency: 'EUR', subtotal: 50, contactId: id })),
  });
  return {
    customers: ids.map((contact, index) => ({
      contact,
      order: String(orders[index]?.id),
      ticket: String(tickets[index]?.id),
      deal: `d${index}`,
    })),
  };
}

/** A customer writes on their ticket; returns the comment's id. */
async function customerWrites(url: string, ticket: string, intent: Intent): Promise<string> {
  const answer = await call(
    url,
    'PUT',
    `/api/tickets/${ticket}`,
    { comment: { kind: 'message', body: `Hello. ${intentTag(intent)}` } },
    { 'x-actor': 'customer' },
  );
  expect(answer.status).toBe(200);
  return String(
    answer.body.audit.events.find((event: { type: string }) => event.type === 'Comment').id,
  );
}

async function replies(url: string, ticket: string): Promise<string[]> {
  const answer = await call(url, 'GET', `/api/tickets/${ticket}/comments`);
  return (answer.body.comments as { kind: string; body: string }[])
    .filter((comment) => comment.kind === 'reply')
    .map((comment) => comment.body);
}

/** Until the sandbox's writes stop growing: its webhooks delivered, the agent idle, repeated. */
async function settle(sandbox: Sandbox & { url: string }, idle: () => Promise<void>) {
  let seen = -1;
  for (;;) {
    await sandbox.webhooksSettled();
    await idle();
    const { writes } = (await call(sandbox.url, 'GET', '/_writes')).body as { writes: unknown[] };
    if (writes.length === seen) return;
    seen = writes.length;
  }
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the decision core', () => {
  const world: SeededWorld = {
    customers: Array.from({ length: 5 }, (_, index) => ({
      contact: `c${index}`,
      order: `o${index}`,
      ticket: `t${index}`,
      deal: `d${index}`,
    })),
  };
  const intents: Intent[] = ['question', 'ask-about-cancel', 'ask-to-cancel', 'thanks'];
  const triggers: AgentTrigger[] = Array.from({ length: 200 }, (_, index) =>
    index % 5 === 4
      ? { kind: 'lead', contact: `lead${index}` }
      : {
          kind: 'comment',
          ticket: `t${index % 5}`,
          comment: `m${index}`,
          body: `Hi ${intentTag(intents[index % 4] as Intent)}`,
        },
  );
  const plans = (seed: number, faults: AgentFaults = DEFAULT_FAULTS) => {
    const core = createAgentCore({ seed, faults, world });
    return { plans: triggers.map((trigger) => core.decide(trigger)), stats: core.stats };
  };

  it('makes the same decisions, faults included, for the same seed, and others for another', () => {
    const first = plans(7);
    expect(plans(7)).toEqual(first);
    expect(plans(8).plans).not.toEqual(first.plans);
    const fired = Object.values(first.stats.faults).reduce((sum, n) => sum + n, 0);
    expect(fired).toBeGreaterThan(0);
  });

  it('without faults, does what each intent asks and marks what it writes', () => {
    const core = createAgentCore({ seed: 1, faults: NO_FAULTS, world });
    const on = (intent: Intent) =>
      core.decide({ kind: 'comment', ticket: 't1', comment: '99', body: `x ${intentTag(intent)}` });
    expect(on('question')?.writes).toEqual([
      { operation: 'ticket.reply', ticket: 't1', body: expect.stringContaining(replyMarker('99')) },
    ]);
    expect(on('ask-about-cancel')?.writes.map((write) => write.operation)).toEqual([
      'ticket.reply',
    ]);
    expect(on('ask-to-cancel')?.writes).toMatchObject([
      { operation: 'order.cancel', order: 'o1' },
      { operation: 'ticket.reply', ticket: 't1' },
    ]);
    expect(on('thanks')?.writes).toEqual([
      { operation: 'ticket.set_status', ticket: 't1', status: 'solved' },
    ]);
    expect(core.decide({ kind: 'lead', contact: 'c9' })?.writes).toEqual([
      expect.objectContaining({
        operation: 'email.send',
        subject: expect.stringContaining(leadMarker('c9')),
      }),
    ]);
    // A staff note and its own reply (without the echo fault) call for nothing.
    expect(core.decide({ kind: 'comment', ticket: 't1', comment: '5', body: 'a note' })).toBeNull();
    expect(
      core.decide({ kind: 'comment', ticket: 't1', comment: '6', body: `ok ${replyMarker('99')}` }),
    ).toBeNull();
  });

  it('misreads, picks wrong records and answers its echoes at rate 1, echoes capped per ticket', () => {
    const faults = { ...NO_FAULTS, misreadIntent: 1, wrongRecord: 1, echoReply: 1 };
    const core = createAgentCore({ seed: 1, faults, world });
    const misread = core.decide({
      kind: 'comment',
      ticket: 't1',
      comment: '1',
      body: `x ${intentTag('ask-about-cancel')}`,
    });
    expect(misread?.kind).toBe('cancel');
    const cancel = misread?.writes[0];
    expect(cancel?.operation === 'order.cancel' && cancel.order).not.toBe('o1');
    const echo = (comment: string) =>
      core.decide({ kind: 'comment', ticket: 't2', comment, body: `ok ${replyMarker('1')}` });
    const answered = ['e1', 'e2', 'e3', 'e4', 'e5'].map(echo).filter((plan) => plan !== null);
    expect(answered).toHaveLength(ECHO_REPLIES_PER_TICKET);
  });
});

describe('direct mode', () => {
  /** A sandbox whose webhooks go to a direct agent. */
  async function startDirect(faults: AgentFaults) {
    const port = await freePort();
    const sandboxUrl = `http://127.0.0.1:${port}`;
    const agentWorld: { customers: SeededWorld['customers'][number][] } = { customers: [] };
    const agent = await startDirectAgent({ sandboxUrl, seed: 1, faults, world: agentWorld });
    opened.push(agent);
    const sandbox = createSandbox({ webhookUrl: agent.webhookUrls, webhookRetryDelaysMs: [20] });
    await sandbox.listen(port);
    opened.push(sandbox);
    agentWorld.customers.push(...seedCustomers(sandbox).customers);
    return { agent, sandbox: sandbox as Sandbox & { url: string }, world: agentWorld };
  }

  it('without faults, answers a question with exactly one marked reply', async () => {
    const { agent, sandbox, world } = await startDirect(NO_FAULTS);
    const ticket = world.customers[0]?.ticket ?? '';
    const comment = await customerWrites(sandbox.url, ticket, 'question');
    await settle(sandbox, agent.idle);
    const bodies = await replies(sandbox.url, ticket);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toContain(replyMarker(comment));
    expect(agent.stats.outcomes).toEqual({ applied: 1 });
  });

  it('answering its own echoes loops, a bounded number of times', async () => {
    const { agent, sandbox, world } = await startDirect({ ...NO_FAULTS, echoReply: 1 });
    const ticket = world.customers[0]?.ticket ?? '';
    await customerWrites(sandbox.url, ticket, 'question');
    await settle(sandbox, agent.idle);
    expect(await replies(sandbox.url, ticket)).toHaveLength(1 + ECHO_REPLIES_PER_TICKET);
    expect(agent.stats.decisions['echo-answer']).toBe(ECHO_REPLIES_PER_TICKET);
  });
});

describe('through Airlock', () => {
  async function startAirlock(faults: AgentFaults) {
    const database = createTestDatabase('sqlite');
    opened.push({ close: () => database.drop() });
    const loop = await startEchoLoop(database, { deliver: { events: ['*'] } });
    opened.push(loop);
    const world = seedCustomers(loop.sandbox);
    const { port } = loop.gateway.app.server.address() as AddressInfo;
    const gatewayUrl = `http://127.0.0.1:${port}`;
    const agent = await startAirlockAgent({
      gatewayUrl,
      key: LOOP_AGENT_KEY,
      seed: 1,
      faults,
      world,
    });
    opened.push(agent);
    return { agent, sandbox: loop.sandbox, world, gatewayUrl };
  }

  it('answers a question with one reply, and solves the ticket on thanks', async () => {
    const { agent, sandbox, world } = await startAirlock(NO_FAULTS);
    const ticket = world.customers[0]?.ticket ?? '';
    const comment = await customerWrites(sandbox.url, ticket, 'question');
    await settle(sandbox, agent.idle);
    const bodies = await replies(sandbox.url, ticket);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).toContain(replyMarker(comment));

    await customerWrites(sandbox.url, ticket, 'thanks');
    await settle(sandbox, agent.idle);
    const { body } = await call(sandbox.url, 'GET', `/api/tickets/${ticket}`);
    expect(body.ticket.status).toBe('solved');
    expect(agent.stats.outcomes).toEqual({ executed: 2 });
    expect(agent.refused).toEqual([]);
  });

  it('is not handed its own echoes, so answering them cannot loop', async () => {
    const { agent, sandbox, world } = await startAirlock({ ...NO_FAULTS, echoReply: 1 });
    const ticket = world.customers[0]?.ticket ?? '';
    await customerWrites(sandbox.url, ticket, 'question');
    await settle(sandbox, agent.idle);
    expect(await replies(sandbox.url, ticket)).toHaveLength(1);
    expect(agent.stats.faults.echoReply).toBe(0);
  });

  it('welcomes a lead once, though its two forms are two events', async () => {
    const { agent, sandbox } = await startAirlock(NO_FAULTS);
    const form = { 'x-actor': 'web-form' };
    const created = await call(
      sandbox.url,
      'POST',
      '/crm/v3/objects/contacts',
      { properties: { email: 'lead@example.com' } },
      form,
    );
    const contact = String(created.body.id);
    const path = `/crm/v3/objects/contacts/${contact}`;
    await call(sandbox.url, 'PATCH', path, { properties: { lifecyclestage: 'lead' } }, form);
    await settle(sandbox, agent.idle);
    const { writes } = (await call(sandbox.url, 'GET', '/_writes')).body as {
      writes: { record: { type: string }; snapshot: Record<string, unknown> }[];
    };
    const emails = writes.filter((write) => write.record.type === 'email');
    expect(emails).toHaveLength(1);
    expect(JSON.stringify(emails[0]?.snapshot)).toContain(leadMarker(contact));
    expect(agent.stats.decisions.welcome).toBe(2);
  });

  it('a cancel waits for the approver: asked for, approved; misread, rejected', async () => {
    const { agent, sandbox, world, gatewayUrl } = await startAirlock({
      ...NO_FAULTS,
      misreadIntent: 1,
    });
    const [asks, wonders] = world.customers as [
      SeededWorld['customers'][number],
      SeededWorld['customers'][number],
    ];
    const approver = startApprover({
      gatewayUrl,
      operatorToken: APPROVER_TOKEN,
      truth: () => ({ cancelRequested: [{ ticket: asks.ticket, order: asks.order }] }),
      intervalMs: 50,
    });
    opened.push(approver);
    await customerWrites(sandbox.url, asks.ticket, 'ask-to-cancel');
    await customerWrites(sandbox.url, wonders.ticket, 'ask-about-cancel');
    await settle(sandbox, agent.idle);
    expect(agent.stats.outcomes).toMatchObject({ pending_approval: 2, executed: 2 });

    const status = (order: string) => orderStatus(sandbox.url, order);
    await waitFor(async () => (await status(asks.order)) === 'cancelled');
    await waitFor(() => approver.stats.rejected === 1);
    expect(approver.stats).toMatchObject({ approved: 1, rejected: 1, stale: 0, errors: 0 });
    expect(await status(wonders.order)).toBe('open');
    // Each customer got their one reply as well.
    expect(await replies(sandbox.url, asks.ticket)).toHaveLength(1);
    expect(await replies(sandbox.url, wonders.ticket)).toHaveLength(1);
  });

  it("rejects a cancel of another customer's order, even one that customer asked to cancel too", async () => {
    const { agent, sandbox, world, gatewayUrl } = await startAirlock({
      ...NO_FAULTS,
      wrongRecord: 1,
    });
    const [ada, bob] = world.customers as [
      SeededWorld['customers'][number],
      SeededWorld['customers'][number],
    ];
    const approver = startApprover({
      gatewayUrl,
      operatorToken: APPROVER_TOKEN,
      // Both asked; only Ada writes now, and the agent takes Bob's order for hers.
      truth: () => ({
        cancelRequested: [ada, bob].map(({ ticket, order }) => ({ ticket, order })),
      }),
      intervalMs: 50,
    });
    opened.push(approver);
    await customerWrites(sandbox.url, ada.ticket, 'ask-to-cancel');
    await settle(sandbox, agent.idle);
    await waitFor(() => approver.stats.rejected === 1);
    expect(approver.stats).toMatchObject({ approved: 0, rejected: 1, errors: 0 });
    expect(await orderStatus(sandbox.url, bob.order)).toBe('open');
    expect(await orderStatus(sandbox.url, ada.order)).toBe('open');
  });
});
