import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, type TestApp, useTestGateways } from './helpers/gateway.js';
import { BACKENDS, countRows } from './helpers/stores.js';
import { signHubspot, signStandardWebhook, ticketEventBody } from './helpers/webhooks.js';

const HUBSPOT_SECRET = 'hubspot-client-secret';
/** The default retention.events. */
const WEEK = 7 * 86_400_000;

describe.each(BACKENDS)('POST /hooks/:source on %s', (backend) => {
  const start = useTestGateways(backend);

  function post(
    app: TestApp['app'],
    body: string,
    headers: Record<string, string>,
    source = 'demo',
  ) {
    return app.inject({ method: 'POST', url: `/hooks/${source}`, payload: body, headers });
  }

  it('acknowledges a new event with 202 and a repeat with 200 and the first copy id', async () => {
    const { app, store } = await start();
    const body = ticketEventBody('T-1');
    const first = await post(app, body, signStandardWebhook(body, 'msg_1'));
    expect(first.statusCode).toBe(202);
    const firstAnswer = first.json();
    expect(firstAnswer).toEqual({ event: expect.stringMatching(/^evt_/), duplicate: false });

    // The provider retries later with a fresh timestamp and signature: still the same event.
    const again = await post(app, body, signStandardWebhook(body, 'msg_1'));
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ event: firstAnswer.event, duplicate: true });

    expect(await countRows(store, 'events')).toBe(1);
    expect(await countRows(store, 'webhook_requests')).toBe(1);
    const row = await store.db.selectFrom('events').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      source: 'demo',
      provider_event_id: 'msg_1',
      type: 'ticket.updated',
      record_system: 'demo',
      record_type: 'ticket',
      record_id: 'T-1',
      duplicates: 1,
    });
  });

  it('keeps the raw body byte for byte', async () => {
    const { app, store } = await start();
    // Odd spacing, key order and multibyte characters that re-serialising would change.
    const body =
      '{ "type":"ticket.updated",  "data": {"id":"T-9","type":"ticket","note":"zoë 😊"} }';
    const response = await post(app, body, signStandardWebhook(body, 'msg_raw'));
    expect(response.statusCode).toBe(202);
    const request = await store.db
      .selectFrom('webhook_requests')
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(Buffer.from(request.body).equals(Buffer.from(body, 'utf8'))).toBe(true);
  });

  it('takes a body whatever its Content-Type says, and keeps the header as sent', async () => {
    const { app, store } = await start();
    // Types Fastify cannot parse, one with a broken parameter, and none at all.
    const types = ['text', '', 'a/b/c', 'application/json; charset', undefined];
    for (const [index, type] of types.entries()) {
      const body = ticketEventBody(`T-ct-${index}`);
      const { 'content-type': _, ...signed } = signStandardWebhook(body, `msg_ct_${index}`);
      const headers = type === undefined ? signed : { ...signed, 'content-type': type };
      const answer = await post(app, body, headers);
      expect(answer.statusCode, JSON.stringify(type)).toBe(202);
    }
    const stored = await store.db
      .selectFrom('webhook_requests')
      .select('headers')
      .orderBy('id')
      .execute();
    expect(
      stored.map((row) => (JSON.parse(row.headers) as Record<string, string>)['content-type']),
    ).toEqual(types);
  });

  it('stores one event when 20 identical deliveries arrive at once', async () => {
    const { app, store } = await start();
    const body = ticketEventBody('T-2');
    const headers = signStandardWebhook(body, 'msg_race');
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(app, body, headers)));

    const ids = new Set(answers.map((answer) => answer.json().event));
    expect(ids.size).toBe(1);
    expect(answers.filter((answer) => answer.statusCode === 202)).toHaveLength(1);
    expect(answers.filter((answer) => answer.statusCode === 200)).toHaveLength(19);
    expect(await countRows(store, 'events')).toBe(1);
    const row = await store.db.selectFrom('events').select('duplicates').executeTakeFirstOrThrow();
    expect(row.duplicates).toBe(19);
  });

  it('refuses bad signatures, stale timestamps and unknown sources without storing', async () => {
    const { app, store } = await start();
    const body = ticketEventBody('T-3');
    const cases: Array<[string, Record<string, string>, number, string, string?]> = [
      ['no signature headers', { 'content-type': 'application/json' }, 401, 'signature-missing'],
      [
        'wrong secret',
        signStandardWebhook(body, 'msg_a', {
          secret: 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA==',
        }),
        401,
        'signature-invalid',
      ],
      [
        'timestamp 10 minutes old',
        signStandardWebhook(body, 'msg_b', { timestamp: new Date(Date.now() - 600_000) }),
        401,
        'timestamp-out-of-tolerance',
      ],
      ['unknown source', signStandardWebhook(body, 'msg_c'), 404, 'unknown-source', 'nope'],
    ];
    for (const [what, headers, status, code, source] of cases) {
      const response = await post(app, body, headers, source);
      expect(response.statusCode, what).toBe(status);
      expect(response.headers['content-type'], what).toContain('application/problem+json');
      expect(response.json(), what).toMatchObject({ type: `urn:airlock:problem:${code}`, status });
    }
    const tampered = signStandardWebhook(body, 'msg_d');
    const response = await post(app, body.replace('T-3', 'T-4'), tampered);
    expect(response.statusCode).toBe(401);
    expect(await countRows(store, 'events')).toBe(0);
  });

  it('answers malformed bodies with 400, never 5xx', async () => {
    const { app, store } = await start();
    const bodies = ['not json', '[1,2', '\u0000\u0001', '"just a string"', '\xff\xfe'];
    for (const body of bodies) {
      const response = await post(
        app,
        body,
        signStandardWebhook(body, `msg_${bodies.indexOf(body)}`),
      );
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json().type).toBe('urn:airlock:problem:malformed-body');
    }
    expect(await countRows(store, 'events')).toBe(0);
  });

  it('turns each item of a HubSpot batch into its own event, deduplicated across retries', async () => {
    const url = 'https://airlock.example.com/hooks/crm';
    const { app, store } = await start({
      sources: { crm: { scheme: 'hubspot-v3', secrets: [HUBSPOT_SECRET], url } },
    });
    const items = [1, 2, 3].map((n) => ({
      eventId: 100 + n,
      subscriptionId: 7,
      portalId: 62515,
      appId: 1,
      occurredAt: 1_764_000_000_000 + n,
      subscriptionType: 'contact.propertyChange',
      attemptNumber: 0,
      objectId: 500 + n,
      propertyName: 'email',
      propertyValue: `c${n}@example.com`,
      changeSource: 'CRM',
    }));
    const send = (batch: unknown[]) => {
      const body = JSON.stringify(batch);
      return post(app, body, signHubspot(url, body, HUBSPOT_SECRET), 'crm');
    };

    const first = await send(items);
    expect(first.statusCode).toBe(202);
    expect(first.json().events).toHaveLength(3);
    expect(await countRows(store, 'events')).toBe(3);

    // HubSpot retries the batch with attemptNumber raised, plus one new event.
    const retried = [
      ...items.map((item) => ({ ...item, attemptNumber: 1 })),
      { ...items[0], eventId: 999 },
    ];
    const second = await send(retried);
    expect(second.statusCode).toBe(202);
    const answers = second.json().events as Array<{ event: string; duplicate: boolean }>;
    expect(answers.map((answer) => answer.duplicate)).toEqual([true, true, true, false]);
    expect(answers.slice(0, 3).map((answer) => answer.event)).toEqual(
      first.json().events.map((answer: { event: string }) => answer.event),
    );
    expect(await countRows(store, 'events')).toBe(4);

    const fullRepeat = await send(retried);
    expect(fullRepeat.statusCode).toBe(200);
    expect(fullRepeat.json().duplicate).toBe(true);
    const records = await store.db
      .selectFrom('events')
      .select(['record_type', 'record_id'])
      .orderBy('record_id')
      .execute();
    expect(records[0]).toEqual({ record_type: 'contact', record_id: '501' });
  });

  it('refuses a body over the limit with 413', async () => {
    const { app, store } = await start({ ingest: { bodyLimit: '1kb' } });
    const body = JSON.stringify({ type: 't', data: { pad: 'x'.repeat(2000) } });
    const response = await post(app, body, signStandardWebhook(body, 'msg_big'));
    expect(response.statusCode).toBe(413);
    expect(response.json().type).toBe('urn:airlock:problem:body-too-large');
    expect(await countRows(store, 'events')).toBe(0);
  });

  it('accepts a redelivery as new only after retention pruned the first copy', async () => {
    const { app, store, prune } = await start();
    const body = ticketEventBody('T-5');
    expect((await post(app, body, signStandardWebhook(body, 'msg_old'))).statusCode).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const cutoff = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const fresh = ticketEventBody('T-6');
    expect((await post(app, fresh, signStandardWebhook(fresh, 'msg_new'))).statusCode).toBe(202);

    // The gateway's pruning, retention.events (a week) after the cutoff.
    expect(await prune(cutoff + WEEK)).toMatchObject({ events: 1, requests: 1, deliveries: 0 });
    const left = await store.db.selectFrom('events').select('provider_event_id').execute();
    expect(left).toEqual([{ provider_event_id: 'msg_new' }]);
    expect(await countRows(store, 'webhook_requests')).toBe(1);
    expect((await post(app, fresh, signStandardWebhook(fresh, 'msg_new'))).statusCode).toBe(200);
    expect((await post(app, body, signStandardWebhook(body, 'msg_old'))).statusCode).toBe(202);
  });

  it('serves events to operators, filtered and paged', async () => {
    const { app } = await start();
    for (const [n, ticket] of ['T-7', 'T-8', 'T-7', 'T-7'].entries()) {
      const body = ticketEventBody(ticket);
      expect((await post(app, body, signStandardWebhook(body, `msg_list_${n}`))).statusCode).toBe(
        202,
      );
    }
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const get = (url: string, headers: Record<string, string> = auth) =>
      app.inject({ method: 'GET', url, headers });

    const page1 = await get('/v1/events?record=demo:ticket:T-7&limit=2');
    expect(page1.statusCode).toBe(200);
    const first = page1.json();
    expect(first.events.map((event: { providerEventId: string }) => event.providerEventId)).toEqual(
      ['msg_list_3', 'msg_list_2'],
    );
    const page2 = (
      await get(`/v1/events?record=demo:ticket:T-7&limit=2&cursor=${first.nextCursor}`)
    ).json();
    expect(page2.events.map((event: { providerEventId: string }) => event.providerEventId)).toEqual(
      ['msg_list_0'],
    );
    expect(page2.nextCursor).toBeNull();

    const one = await get(`/v1/events/${first.events[0].id}`);
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({
      providerEventId: 'msg_list_3',
      payload: { type: 'ticket.updated', data: { id: 'T-7' } },
      headers: { 'webhook-id': 'msg_list_3' },
    });

    expect((await get('/v1/events', {})).statusCode).toBe(401);
    expect((await get('/v1/events', { authorization: 'Bearer wrong' })).statusCode).toBe(401);
    expect((await get('/v1/events?limit=9999')).json()).toMatchObject({
      status: 400,
      type: 'urn:airlock:problem:invalid-query',
    });
    expect((await get('/v1/events?record=nocolons')).statusCode).toBe(400);
    // A cursor is an event id: other text would be compared as one and give the first page.
    for (const cursor of ['junk', 'act_0000000000000000000000000000000a', `${first.nextCursor}x`]) {
      expect((await get(`/v1/events?cursor=${cursor}`)).json()).toMatchObject({
        status: 400,
        type: 'urn:airlock:problem:invalid-query',
      });
    }
    expect((await get('/v1/events/evt_missing')).json()).toMatchObject({
      status: 404,
      event: 'evt_missing',
    });
  });
});

describe('two gateway instances on one PostgreSQL database', () => {
  const start = useTestGateways('postgres');

  it('store one event when the same delivery reaches both at once', async () => {
    const first = await start();
    const second = await start();
    const body = ticketEventBody('T-10');
    const headers = signStandardWebhook(body, 'msg_two_instances');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        (n % 2 === 0 ? first : second).app.inject({
          method: 'POST',
          url: '/hooks/demo',
          payload: body,
          headers,
        }),
      ),
    );
    expect(new Set(answers.map((answer) => answer.json().event)).size).toBe(1);
    expect(answers.filter((answer) => answer.statusCode === 202)).toHaveLength(1);
    expect(await countRows(first.store, 'events')).toBe(1);
  });
});
