import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, useTestGateways } from './helpers/gateway.js';
import { BACKENDS, countRows } from './helpers/stores.js';
import { DEMO_SECRET, signHubspot, signStandardWebhook } from './helpers/webhooks.js';

// What a signed webhook may put into the inbox's columns: every id, type, record and time taken
// from a payload is checked, so a sender's mistake is a 400 naming the field on both backends,
// never a 500 at the insert or a row that breaks listing and delivery later.

const HUBSPOT_URL = 'https://airlock.example.com/hooks/crm';
const HUBSPOT_SECRET = 'hubspot-client-secret';
const STRIPE_SECRET = 'whsec_stripe_test_secret';
const ZENDESK_SECRET = 'zendesk-signing-secret';
const INTERCOM_SECRET = 'intercom-client-secret';

const SOURCES = {
  demo: { scheme: 'standard-webhooks', secrets: [DEMO_SECRET] },
  crm: { scheme: 'hubspot-v3', secrets: [HUBSPOT_SECRET], url: HUBSPOT_URL },
  payments: { scheme: 'stripe', secrets: [STRIPE_SECRET] },
  helpdesk: { scheme: 'zendesk', secrets: [ZENDESK_SECRET] },
  chat: { scheme: 'intercom', secrets: [INTERCOM_SECRET] },
};

type Post = { source: string; body: string; headers: Record<string, string> };

function hubspot(items: Record<string, unknown>[]): Post {
  const body = JSON.stringify(items);
  return { source: 'crm', body, headers: signHubspot(HUBSPOT_URL, body, HUBSPOT_SECRET) };
}

function hubspotItem(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: 9,
    subscriptionId: 7,
    portalId: 62515,
    appId: 1,
    occurredAt: Date.now() - 1_000,
    subscriptionType: 'contact.propertyChange',
    attemptNumber: 0,
    objectId: 501,
    propertyName: 'email',
    propertyValue: 'c@example.com',
    ...fields,
  };
}

function stripe(fields: Record<string, unknown>): Post {
  const body = JSON.stringify({
    id: 'evt_1',
    object: 'event',
    type: 'invoice.paid',
    created: Math.floor(Date.now() / 1000),
    data: { object: { object: 'invoice', id: 'in_1' } },
    ...fields,
  });
  const t = Math.floor(Date.now() / 1000);
  const v1 = createHmac('sha256', STRIPE_SECRET).update(`${t}.${body}`).digest('hex');
  return { source: 'payments', body, headers: { 'stripe-signature': `t=${t},v1=${v1}` } };
}

function zendesk(fields: Record<string, unknown>): Post {
  const body = JSON.stringify({
    id: 'a7f1c2d3-0000-4000-8000-000000000001',
    type: 'zen:event-type:ticket.comment_added',
    subject: 'zen:ticket:35436',
    time: new Date().toISOString(),
    ...fields,
  });
  const timestamp = new Date().toISOString();
  const signature = createHmac('sha256', ZENDESK_SECRET)
    .update(timestamp + body)
    .digest('base64');
  return {
    source: 'helpdesk',
    body,
    headers: {
      'x-zendesk-webhook-signature': signature,
      'x-zendesk-webhook-signature-timestamp': timestamp,
    },
  };
}

function intercom(fields: Record<string, unknown>): Post {
  const body = JSON.stringify({
    type: 'notification_event',
    id: 'notif_1',
    topic: 'conversation.user.replied',
    created_at: Math.floor(Date.now() / 1000),
    data: { item: { type: 'conversation', id: '123' } },
    ...fields,
  });
  const digest = createHmac('sha1', INTERCOM_SECRET).update(body).digest('hex');
  return { source: 'chat', body, headers: { 'x-hub-signature': `sha1=${digest}` } };
}

function standard(fields: Record<string, unknown>, id = 'msg_fields'): Post {
  const body = JSON.stringify({
    type: 'ticket.updated',
    data: { type: 'ticket', id: 'T-1' },
    ...fields,
  });
  return { source: 'demo', body, headers: signStandardWebhook(body, id) };
}

describe.each(BACKENDS)('what a webhook may store, on %s', (backend) => {
  const startGateway = useTestGateways(backend);
  const start = () => startGateway({ sources: SOURCES });

  function post(app: TestApp['app'], { source, body, headers }: Post) {
    return app.inject({
      method: 'POST',
      url: `/hooks/${source}`,
      payload: body,
      headers: { 'content-type': 'application/json', ...headers },
    });
  }

  it('refuses a time out of range, not a whole millisecond, or not a number, naming its field', async () => {
    const { app, store } = await start();
    const cases: [string, Post, string][] = [
      ['Stripe created in year 318857', stripe({ created: 1e13 }), 'created'],
      ['Stripe created a fraction of a second after 1970', stripe({ created: 1.0005 }), 'created'],
      ['Stripe created past the float range', stripe({ created: 1e306 }), 'created'],
      [
        'HubSpot occurredAt 1e300',
        hubspot([hubspotItem({ occurredAt: 1e300 })]),
        'item 0 occurredAt',
      ],
      [
        'HubSpot occurredAt with half a millisecond',
        hubspot([hubspotItem({ occurredAt: Date.now() - 1_000.5 })]),
        'item 0 occurredAt',
      ],
      [
        'HubSpot occurredAt in seconds',
        hubspot([hubspotItem(), hubspotItem({ eventId: 10, occurredAt: 1_764_000_000 })]),
        'item 1 occurredAt',
      ],
      ['Zendesk time in year 9999', zendesk({ time: '9999-12-31T23:59:59Z' }), 'time'],
      ['Intercom created_at in milliseconds', intercom({ created_at: Date.now() }), 'created_at'],
      [
        'a Standard Webhooks timestamp in 2099',
        standard({ timestamp: '2099-01-01T00:00:00Z' }),
        'timestamp',
      ],
    ];
    for (const [what, request, field] of cases) {
      const response = await post(app, request);
      expect(response.statusCode, what).toBe(400);
      const problem = response.json();
      expect(problem.type, what).toBe('urn:airlock:problem:malformed-body');
      expect(problem.problems, what).toEqual([
        expect.stringMatching(
          new RegExp(
            `^${field}: .* is not a time from 2000-01-01T00:00:00.000Z to 300 s after the request was received$`,
          ),
        ),
      ]);
    }
    expect(await countRows(store, 'events')).toBe(0);
  });

  it('accepts a time a few minutes ahead (clock skew) or days old (a redelivery)', async () => {
    const { app } = await start();
    const ahead = await post(
      app,
      standard({ timestamp: new Date(Date.now() + 120_000).toISOString() }, 'msg_ahead'),
    );
    expect(ahead.statusCode, ahead.body).toBe(202);
    const old = await post(app, stripe({ created: Math.floor(Date.now() / 1000) - 30 * 86_400 }));
    expect(old.statusCode, old.body).toBe(202);
  });

  it('refuses ids, types and records a column cannot hold, naming the field', async () => {
    const { app, store } = await start();
    const long = 'x'.repeat(513);
    const cases: [string, Post, string][] = [
      ['a NUL in a Zendesk id', zendesk({ id: 'a\u0000b' }), 'id: contains a NUL character'],
      [
        'a NUL in a Standard Webhooks type',
        standard({ type: 'x\u0000y' }),
        'type: contains a NUL character',
      ],
      [
        'a lone surrogate in a record id',
        standard({ data: { type: 'ticket', id: 'T-\ud800' } }),
        'data.record.id or data.id: is not valid Unicode (a lone surrogate)',
      ],
      [
        'a record id longer than 512 characters',
        standard({ data: { type: 'ticket', id: long } }),
        'data.record.id or data.id: is longer than 512 characters',
      ],
      [
        'a HubSpot eventId longer than 512 characters',
        hubspot([hubspotItem({ eventId: long })]),
        'item 0 eventId: is longer than 512 characters',
      ],
      [
        'a Stripe type longer than 256 characters',
        stripe({ type: 'y'.repeat(257) }),
        'type: is longer than 256 characters',
      ],
      [
        'a webhook-id longer than 512 characters',
        standard({}, long),
        'webhook-id header: is longer than 512 characters',
      ],
    ];
    for (const [what, request, problem] of cases) {
      const response = await post(app, request);
      expect(response.statusCode, what).toBe(400);
      expect(response.json(), what).toMatchObject({
        type: 'urn:airlock:problem:malformed-body',
        problems: [problem],
      });
    }
    expect(await countRows(store, 'events')).toBe(0);
  });

  it('refuses a body nested deeper than 64 levels on every scheme, and keeps one at 64', async () => {
    const { app, store } = await start();
    // `levels` arrays, one in the other; `above`: the levels of the body around the value.
    const nested = (levels: number): unknown => {
      let value: unknown = [];
      for (let level = 1; level < levels; level += 1) value = [value];
      return value;
    };
    const cases: [string, (value: unknown) => Post, number][] = [
      ['Standard Webhooks', (value) => standard({ extra: value }, 'msg_deep'), 1],
      ['HubSpot', (value) => hubspot([hubspotItem({ propertyValue: value })]), 2],
      [
        'Stripe',
        (value) => stripe({ data: { object: { object: 'invoice', id: 'in_2', value } } }),
        3,
      ],
      ['Zendesk', (value) => zendesk({ extra: value }), 1],
      ['Intercom', (value) => intercom({ extra: value }), 1],
    ];
    // 8,000 levels overflowed the stack where the payload was keyed (HubSpot) or shown: a 500.
    // Written out, since JSON.stringify would overflow here too.
    const deep = `${'['.repeat(8_000)}${']'.repeat(8_000)}`;
    const deepStandard = `{"type":"ticket.updated","data":{"type":"ticket","id":"T-1"},"extra":${deep}}`;
    const deepHubspot = JSON.stringify([hubspotItem()]).replace(
      '"propertyValue":"c@example.com"',
      `"propertyValue":${deep}`,
    );
    const tooDeep: [string, Post][] = [
      ...cases.map(([what, build, above]): [string, Post] => [what, build(nested(65 - above))]),
      [
        'Standard Webhooks at 8,000',
        {
          source: 'demo',
          body: deepStandard,
          headers: signStandardWebhook(deepStandard, 'msg_8k'),
        },
      ],
      [
        'HubSpot at 8,000',
        {
          source: 'crm',
          body: deepHubspot,
          headers: signHubspot(HUBSPOT_URL, deepHubspot, HUBSPOT_SECRET),
        },
      ],
    ];
    for (const [what, request] of tooDeep) {
      const response = await post(app, request);
      expect(response.statusCode, what).toBe(400);
      expect(response.json(), what).toMatchObject({
        type: 'urn:airlock:problem:malformed-body',
        detail: 'body nests objects and arrays more than 64 levels deep',
      });
    }
    expect(await countRows(store, 'events')).toBe(0);
    for (const [what, build, above] of cases) {
      const kept = await post(app, build(nested(64 - above)));
      expect(kept.statusCode, `${what}: ${kept.body}`).toBe(202);
      const shown = await app.inject({
        method: 'GET',
        url: `/v1/events/${kept.json().event}`,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(shown.statusCode, what).toBe(200);
      expect(shown.json().payload, what).not.toBeNull();
    }
  });

  it('stores a HubSpot event whose property value makes its dedup key long, and knows its retry', async () => {
    const { app, store } = await start();
    // Random, so PostgreSQL cannot compress the key under its index's limit of 2704 bytes.
    const value = randomBytes(4_000).toString('base64');
    const item = hubspotItem({ propertyName: 'notes', propertyValue: value });
    const first = await post(app, hubspot([item]));
    expect(first.statusCode, first.body).toBe(202);
    const retry = await post(app, hubspot([{ ...item, attemptNumber: 1 }]));
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({ event: first.json().event, duplicate: true });
    const other = await post(app, hubspot([{ ...item, propertyValue: `${value}.` }]));
    expect(other.json().duplicate).toBe(false);
    expect(await countRows(store, 'events')).toBe(2);
  });

  it('shows the payload of a body that begins with a byte-order mark', async () => {
    const { app } = await start();
    const json = JSON.stringify({ type: 'ticket.updated', data: { type: 'ticket', id: 'T-bom' } });
    // U+FEFF is sent as the UTF-8 bytes EF BB BF.
    const body = `\uFEFF${json}`;
    const response = await app.inject({
      method: 'POST',
      url: '/hooks/demo',
      payload: body,
      headers: signStandardWebhook(body, 'msg_bom'),
    });
    expect(response.statusCode, response.body).toBe(202);
    const event = await app.inject({
      method: 'GET',
      url: `/v1/events/${response.json().event}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(event.json()).toMatchObject({
      type: 'ticket.updated',
      record: { system: 'demo', type: 'ticket', id: 'T-bom' },
      payload: JSON.parse(json),
    });
  });
});
