import { afterEach, describe, expect, it } from 'vitest';
import { schemes } from '../src/ingest/schemes/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import {
  call,
  type Received,
  type Receiver,
  startReceiver,
  startSandbox,
} from './helpers/sandbox.js';

const HELPDESK_SECRET = 'zendesk-test-secret';
const CRM_SECRET = 'hubspot-test-secret';
const OPTIONS = { toleranceSeconds: 300 };

let sandbox: (Sandbox & { url: string }) | undefined;
let receivers: Receiver[] = [];
afterEach(async () => {
  await sandbox?.close();
  await Promise.all(receivers.map((r) => r.close()));
  sandbox = undefined;
  receivers = [];
});

async function setUp(receiverOptions: Parameters<typeof startReceiver>[0] = {}) {
  const helpdesk = await startReceiver(receiverOptions);
  const crm = await startReceiver(receiverOptions);
  receivers.push(helpdesk, crm);
  sandbox = await startSandbox({
    webhookUrl: { helpdesk: `${helpdesk.url}/hooks/helpdesk`, crm: `${crm.url}/hooks/crm?x=a%3Ab` },
    helpdeskSecret: HELPDESK_SECRET,
    crmSecret: CRM_SECRET,
  });
  return { helpdesk, crm, sandbox };
}

function verify(
  scheme: 'zendesk' | 'hubspot-v3',
  request: Received,
  secret: string,
  url = request.url,
) {
  return schemes[scheme].verify({ ...request, url }, [secret], OPTIONS, Date.now());
}

function json(request: Received) {
  return JSON.parse(request.body.toString('utf8'));
}

describe('sandbox webhooks', () => {
  it('sends helpdesk changes as Zendesk event webhooks that Airlock’s zendesk scheme accepts', async () => {
    const { helpdesk, sandbox } = await setUp();
    const created = await call(sandbox.url, 'POST', '/api/tickets', {
      subject: 's',
      comment: { body: 'b' },
    });
    const id = created.body.ticket.id;
    await call(
      sandbox.url,
      'PUT',
      `/api/tickets/${id}`,
      { status: 'open', comment: { kind: 'reply', body: 'Hello', marker: 'act_1' } },
      { 'x-actor': 'airlock', 'x-action-id': 'act_1' },
    );
    const requests = await helpdesk.waitFor(3);
    for (const request of requests) {
      expect(verify('zendesk', request, HELPDESK_SECRET)).toEqual({ ok: true });
      expect(verify('zendesk', request, 'another-secret').ok).toBe(false);
    }
    const [createdEvent, statusEvent, commentEvent] = requests.map(json);
    expect(createdEvent).toMatchObject({
      type: 'zen:event-type:ticket.created',
      subject: `zen:ticket:${id}`,
      detail: { id, revision: '1', actor: null },
    });
    expect(statusEvent).toMatchObject({
      type: 'zen:event-type:ticket.status_changed',
      event: { previous: 'new', current: 'open' },
      detail: { revision: '2', status: 'open', actor: 'airlock', action_id: 'act_1' },
    });
    expect(commentEvent).toMatchObject({
      type: 'zen:event-type:ticket.comment_added',
      event: { comment: { kind: 'reply', body: 'Hello', marker: 'act_1', is_public: true } },
    });
    // Each event is its own, and Airlock's scheme reads its identity from the signed body.
    const identities = requests.map((request) => schemes.zendesk.identify(request, OPTIONS)[0]);
    expect(new Set(identities.map((i) => i?.dedupKey)).size).toBe(3);
    expect(identities[1]).toMatchObject({
      type: 'zen:event-type:ticket.status_changed',
      record: { type: 'ticket', id },
    });
  });

  it('sends CRM and order changes as HubSpot v3 batches signed over the webhook URL', async () => {
    const { crm, sandbox } = await setUp();
    const seeded = sandbox.seed({ orders: [{ currency: 'EUR', subtotal: 50 }] });
    const contact = await call(sandbox.url, 'POST', '/crm/v3/objects/contacts', {
      properties: { email: 'a@example.com' },
    });
    await call(
      sandbox.url,
      'PATCH',
      `/crm/v3/objects/contacts/${contact.body.id}`,
      { properties: { name: 'Ada', phone: '12' } },
      { 'x-actor': 'airlock', 'x-action-id': 'act_2' },
    );
    await call(sandbox.url, 'POST', `/orders/${seeded.orders[0]?.id}/cancel`, { reason: 'r' });
    const requests = await crm.waitFor(3);
    const webhookUrl = `${crm.url}/hooks/crm?x=a%3Ab`;
    for (const request of requests) {
      expect(request.url).toBe(webhookUrl);
      expect(verify('hubspot-v3', request, CRM_SECRET, webhookUrl)).toEqual({ ok: true });
      expect(verify('hubspot-v3', request, CRM_SECRET, `${crm.url}/hooks/other`).ok).toBe(false);
    }
    const [creation, update, cancel] = requests.map(json);
    expect(creation).toEqual([
      expect.objectContaining({
        subscriptionType: 'contact.creation',
        objectId: Number(contact.body.id),
        changeSource: 'CRM_UI',
        attemptNumber: 0,
      }),
    ]);
    expect(update).toEqual([
      expect.objectContaining({
        subscriptionType: 'contact.propertyChange',
        propertyName: 'name',
        propertyValue: 'Ada',
        changeSource: 'INTEGRATION',
        sourceId: 'airlock:act_2',
      }),
      expect.objectContaining({ propertyName: 'phone', propertyValue: '12' }),
    ]);
    expect(cancel).toContainEqual(
      expect.objectContaining({
        subscriptionType: 'order.propertyChange',
        propertyName: 'status',
        propertyValue: 'cancelled',
      }),
    );
    const identities = schemes['hubspot-v3'].identify(requests[1] as Received, OPTIONS);
    expect(identities.map((i) => i.record)).toEqual([
      { type: 'contact', id: contact.body.id },
      { type: 'contact', id: contact.body.id },
    ]);
    expect(identities[0]?.dedupKey).not.toBe(identities[1]?.dedupKey);
  });

  it('retries a failed delivery in the background, signing each attempt afresh', async () => {
    const { crm, sandbox } = await setUp({ answer: (index) => (index < 2 ? 503 : 204) });
    await call(sandbox.url, 'POST', '/crm/v3/objects/contacts', {
      properties: { email: 'a@example.com' },
    });
    const attempts = await crm.waitFor(3);
    expect(attempts.map((r) => json(r)[0].attemptNumber)).toEqual([0, 1, 2]);
    for (const request of attempts) {
      expect(verify('hubspot-v3', request, CRM_SECRET, request.url)).toEqual({ ok: true });
    }
    await sandbox.webhooksSettled();
    expect(sandbox.deliveries()).toEqual([
      expect.objectContaining({
        channel: 'crm',
        status: 'delivered',
        attempts: 3,
        lastStatus: 204,
      }),
    ]);
  });

  it('gives up after the last retry and records the failure', async () => {
    const { helpdesk, sandbox } = await setUp({ answer: () => 500 });
    await call(sandbox.url, 'POST', '/api/tickets', { subject: 's', comment: { body: 'b' } });
    await sandbox.webhooksSettled();
    expect(helpdesk.received).toHaveLength(4);
    expect(sandbox.deliveries()).toEqual([
      expect.objectContaining({ status: 'failed', attempts: 4, lastStatus: 500 }),
    ]);
  });

  it('answers the API without waiting for a receiver that hangs', async () => {
    const { helpdesk, sandbox } = await setUp({ hang: true });
    const started = Date.now();
    const created = await call(sandbox.url, 'POST', '/api/tickets', {
      subject: 's',
      comment: { body: 'b' },
    });
    expect(created.status).toBe(201);
    expect(Date.now() - started).toBeLessThan(1000);
    await helpdesk.waitFor(1);
    expect(sandbox.deliveries()[0]?.status).toBe('pending');
  });

  it('sends nothing for seeded records', async () => {
    const { helpdesk, crm, sandbox } = await setUp();
    sandbox.seed({
      contacts: [{ properties: { email: 'a@example.com' } }],
      tickets: [{ subject: 's' }],
    });
    await sandbox.webhooksSettled();
    expect(helpdesk.received.length + crm.received.length).toBe(0);
    expect(sandbox.state.writes).toHaveLength(0);
  });
});
