import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256, useTestGateways } from '../../test/helpers/gateway.js';
import { postAction } from '../../test/helpers/propose.js';
import { call, startSandbox } from '../../test/helpers/sandbox.js';
import { BACKENDS } from '../../test/helpers/stores.js';
import { signStandardWebhook, ticketEventBody } from '../../test/helpers/webhooks.js';
import { OPERATION_NAMES } from '../actions/index.js';
import { firstIdAt } from '../ids.js';
import { listErrors } from './error-list.js';

const AGENT_KEY = 'ak_error_list_agent';

describe.each(BACKENDS)('the error list on %s', (backend) => {
  const start = useTestGateways(backend);
  let sandbox: Awaited<ReturnType<typeof startSandbox>> | undefined;
  afterEach(async () => {
    await sandbox?.close();
    sandbox = undefined;
  });

  it('lists what went wrong newest first, filtered by system and time', async () => {
    sandbox = await startSandbox();
    const gateway = await start({
      connectors: { helpdesk: { kind: 'sandbox', url: sandbox.url, timeout: '500ms' } },
      agents: {
        bot: {
          keySha256: sha256(AGENT_KEY),
          operations: [...OPERATION_NAMES],
          deliver: { events: ['*'], sources: ['demo'], maxAttempts: 1 },
        },
      },
      actions: { wait: '3s', maxAttempts: 1 },
      delivery: { poll: 20 },
    });
    const { store } = gateway;
    const ticket = sandbox.seed({ tickets: [{ subject: 'Where is my order?' }] }).tickets[0] as {
      id: string;
      revision: number;
    };
    const agent = { authorization: `Bearer ${AGENT_KEY}` };

    // An action on the CRM that failed a while ago, accepted through the outbox op.
    const failedAt = Date.now() - 10_000;
    const failed = `${firstIdAt('act', failedAt)}${randomBytes(10).toString('hex')}`;
    const target = { system: 'crm', type: 'contact', id: 'C-1' };
    const ref = { agent: 'bot', key: failed };
    await gateway.propose.ops.run('acceptAction', {
      ref,
      fingerprint: 'fp',
      lockMs: 30_000,
      action: {
        id: failed,
        agent: 'bot',
        idempotency_key: failed,
        operation: 'contact.update',
        record_key: 'crm:contact:C-1',
        target: JSON.stringify(target),
        params: '{}',
        basis: null,
        decision: null,
        status: 'failed',
        verdict: null,
        expected_revision: null,
        effect: null,
        error: JSON.stringify({ code: 'connector-refused', message: 'email is not valid' }),
        attempts: 1,
        next_attempt_at: failedAt,
        lease_owner: null,
        lease_until: null,
        created_at: failedAt,
        updated_at: failedAt,
        sent_at: null,
      },
      target,
      rateLimits: [],
      approval: null,
      lease: null,
      dialect: store.dialect,
    });

    // A reply the helpdesk answers with 503 on its only attempt: a connector error, a dead action.
    const deadSince = Date.now();
    await call(sandbox.url, 'POST', '/_faults', {
      operation: 'ticket.update',
      times: 1,
      status: 503,
      retryAfterSeconds: 0,
    });
    const proposed = await postAction(gateway.app, AGENT_KEY, 'k-dead', {
      operation: 'ticket.reply',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { body: 'Your order ships today.' },
      basis: { revision: String(ticket.revision) },
    });
    expect(proposed.json()).toMatchObject({ status: 'dead' });
    const dead = proposed.json().action as string;
    await sleep(5);

    // A forged webhook, refused.
    const webhooksSince = Date.now();
    const body = ticketEventBody('T-1');
    const forged = await gateway.app.inject({
      method: 'POST',
      url: '/hooks/demo',
      payload: body,
      headers: signStandardWebhook(body, 'msg_forged', {
        secret: `whsec_${Buffer.from('someone else').toString('base64')}`,
      }),
    });
    expect(forged.statusCode).toBe(401);
    await sleep(5);

    // An event the agent gives back on its only attempt: dead-lettered.
    const sent = await gateway.app.inject({
      method: 'POST',
      url: '/hooks/demo',
      payload: body,
      headers: signStandardWebhook(body, 'msg_real'),
    });
    const event = sent.json().event as string;
    await gateway.dispatcher.catchUp();
    const leased = await gateway.app.inject({
      method: 'POST',
      url: '/v1/events/lease',
      headers: agent,
      payload: {},
    });
    const delivery = leased.json().deliveries[0].id as string;
    await gateway.app.inject({
      method: 'POST',
      url: `/v1/events/${delivery}/nack`,
      headers: agent,
      payload: { reason: 'no handler for ticket.updated' },
    });
    // Closing flushes the counts in memory.
    await gateway.close();

    const all = await listErrors(store, { limit: 50 });
    expect(all).toEqual([
      {
        kind: 'delivery_dead',
        at: expect.any(Number),
        system: 'webhooks',
        summary: 'not delivered to bot: no handler for ticket.updated',
        count: 1,
        ids: { event, delivery, agent: 'bot' },
      },
      {
        kind: 'webhook_rejected',
        at: expect.any(Number),
        system: 'webhooks',
        summary: 'signature-invalid from source demo',
        count: 1,
        ids: {},
      },
      {
        kind: 'action_dead',
        at: expect.any(Number),
        system: 'helpdesk',
        summary: expect.stringMatching(/^ticket\.reply: gave up after 1 attempts/),
        count: 1,
        ids: { action: dead, agent: 'bot' },
      },
      {
        kind: 'connector_error',
        at: expect.any(Number),
        system: 'helpdesk',
        summary: 'HTTP 503',
        count: 1,
        ids: {},
      },
      {
        kind: 'action_failed',
        at: failedAt,
        system: 'crm',
        summary: 'contact.update: email is not valid',
        count: 1,
        ids: { action: failed, agent: 'bot' },
      },
    ]);
    const kinds = async (query: Omit<Parameters<typeof listErrors>[1], 'limit'>, limit = 50) =>
      (await listErrors(store, { ...query, limit })).map((item) => item.kind);
    expect(await kinds({ system: 'helpdesk' })).toEqual(['action_dead', 'connector_error']);
    expect(await kinds({ system: 'webhooks' })).toEqual(['delivery_dead', 'webhook_rejected']);
    expect(await kinds({ system: 'crm' })).toEqual(['action_failed']);
    expect(await kinds({ system: 'orders' })).toEqual([]);
    expect(await kinds({}, 2)).toEqual(['delivery_dead', 'webhook_rejected']);
    expect(await kinds({ since: deadSince, until: webhooksSince })).toEqual([
      'action_dead',
      'connector_error',
    ]);
    expect(await kinds({ until: deadSince })).toEqual(['action_failed']);
    await expect(listErrors(store, { limit: 0 })).rejects.toMatchObject({ code: 'invalid-query' });
  });
});
