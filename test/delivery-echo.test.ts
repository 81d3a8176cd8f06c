import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { Delivery } from '../src/dispatch/wire.js';
import { type EchoLoop, LOOP_AGENT_KEY, startEchoLoop } from './helpers/echo-loop.js';
import { ADMIN_TOKEN } from './helpers/gateway.js';
import { call } from './helpers/sandbox.js';
import { BACKENDS, useTestStores } from './helpers/stores.js';

const SECRET = 'whsec_ZWNoby1sb29wLWFnZW50LXNlY3JldC1mb3ItdGVzdHM=';

/**
 * An agent that answers every ticket event it is handed with a reply, through Airlock, on the
 * basis of the delivery: the naive agent that loops on its own echo when nothing stops it.
 */
async function startReplyingAgent(gatewayUrl: () => string, stopAfter: number) {
  const deliveries: Delivery[] = [];
  const answers: unknown[] = [];
  const webhook = new Webhook(SECRET);
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const delivery = webhook.verify(body, request.headers as Record<string, string>) as Delivery;
      deliveries.push(delivery);
      if (deliveries.length <= stopAfter && delivery.record?.type === 'ticket') {
        const proposed = await fetch(`${gatewayUrl()}/v1/actions`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${LOOP_AGENT_KEY}`,
            'idempotency-key': `reply-${delivery.id}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({
            operation: 'ticket.reply',
            target: delivery.record,
            params: { body: `Thanks, we are on it (${deliveries.length}).` },
            basis: delivery.basis,
          }),
        });
        answers.push(await proposed.json());
      }
      response.statusCode = 204;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/agent`,
    deliveries,
    answers,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function settleDown(loop: EchoLoop, ms: number) {
  await loop.sandbox.webhooksSettled();
  await new Promise((resolve) => setTimeout(resolve, ms));
  await loop.sandbox.webhooksSettled();
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(BACKENDS)('echo suppression on %s', (backend) => {
  const stores = useTestStores(backend);

  async function setUp(echoes: 'suppress' | 'deliver', stopAfter: number) {
    let gatewayUrl = '';
    const agent = stores.closedAfter(await startReplyingAgent(() => gatewayUrl, stopAfter));
    const loop = stores.closedAfter(
      await startEchoLoop(stores.database, {
        deliver: {
          url: agent.url,
          secret: SECRET,
          events: ['ticket.*'],
          echoes,
          allowPrivateNetwork: true,
        },
      }),
    );
    const address = loop.gateway.app.server.address() as AddressInfo;
    gatewayUrl = `http://127.0.0.1:${address.port}`;
    const [ticket] = loop.sandbox.seed({ tickets: [{ subject: 'Refund?' }] }).tickets as [
      { id: string },
    ];
    return { loop, agent, ticket: ticket.id };
  }

  it('hands the agent the record as it is now, and never its own echo: no loop', async () => {
    const { loop, agent, ticket } = await setUp('suppress', 10);
    const commented = await call(loop.sandbox.url, 'PUT', `/api/tickets/${ticket}`, {
      comment: { kind: 'message', body: 'Can I get a refund?' },
    });
    expect(commented.status).toBe(200);
    await until(() => agent.answers.length === 1);
    await settleDown(loop, 1_500);

    expect(agent.deliveries).toHaveLength(1);
    const [delivery] = agent.deliveries as [Delivery];
    expect(delivery.record).toEqual({ system: 'helpdesk', type: 'ticket', id: ticket });
    expect(delivery.events.map((e) => e.type)).toEqual(['zen:event-type:ticket.comment_added']);
    // The context is the record read at delivery time, with its revision as the basis.
    expect(delivery.context.revision).toBe(String(commented.body.ticket.revision));
    expect(delivery.basis.revision).toBe(delivery.context.revision);
    expect(delivery.context.record).toMatchObject({ subject: 'Refund?' });
    expect(agent.answers).toEqual([expect.objectContaining({ status: 'executed' })]);

    // The reply's own webhooks came back and were recorded as its echoes, not handed over.
    const action = (agent.answers[0] as { action: string }).action;
    const echoes = await loop.store.db
      .selectFrom('deliveries')
      .select(['status', 'echo_of'])
      .where('agent', '=', 'bot')
      .where('echo_of', 'is not', null)
      .execute();
    expect(echoes.length).toBeGreaterThan(0);
    expect(echoes.every((row) => row.status === 'echo' && row.echo_of === action)).toBe(true);
    const comments = await call(loop.sandbox.url, 'GET', `/api/tickets/${ticket}/comments`);
    const replies = (comments.body.comments as { kind: string }[]).filter(
      (comment) => comment.kind === 'reply',
    );
    expect(replies).toHaveLength(1);

    // The trace of the event shows whom it was handed to, on which revision, and the ack.
    const trigger = delivery.events[0]?.id as string;
    const trace = await loop.gateway.app.inject({
      method: 'GET',
      url: `/v1/trace/${trigger}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(trace.json().timeline).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          step: 'delivered',
          subject: trigger,
          summary: expect.stringContaining(
            `bot in ${delivery.id} (attempt 1), record at revision ${delivery.context.revision}`,
          ),
        }),
        expect.objectContaining({ step: 'acked', subject: trigger }),
        expect.objectContaining({ step: 'executed', subject: action }),
      ]),
    );

    // The next customer message is handed over with the echo named in its context.
    await call(loop.sandbox.url, 'PUT', `/api/tickets/${ticket}`, {
      comment: { kind: 'message', body: 'Thanks!' },
    });
    await until(() => agent.answers.length === 2);
    await settleDown(loop, 800);
    expect(agent.deliveries).toHaveLength(2);
    expect(agent.deliveries[1]?.context.skipped).toEqual(
      expect.arrayContaining([expect.objectContaining({ status: 'echo', echoOf: action })]),
    );
  });

  it('loops when echoes are delivered (the failure the suppression prevents)', async () => {
    const { loop, agent, ticket } = await setUp('deliver', 3);
    await call(loop.sandbox.url, 'PUT', `/api/tickets/${ticket}`, {
      comment: { kind: 'message', body: 'Can I get a refund?' },
    });
    await until(() => agent.answers.length === 3);
    await settleDown(loop, 1_000);
    // Each reply's echo triggers the next reply, until the agent's own limit stops it.
    expect(agent.answers.length).toBe(3);
    expect(agent.deliveries.length).toBeGreaterThan(3);
  });
});
