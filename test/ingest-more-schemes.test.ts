import { describe, expect, it } from 'vitest';
import { providersFile } from '../src/ingest/schemes/test-vectors.js';
import { type TestApp, useTestGateways } from './helpers/gateway.js';
import { BACKENDS, countRows } from './helpers/stores.js';

const PIPEDRIVE_SECRET = 'pipedrive:s3cr3t-p@ss';
const TOKEN = 'f3a9c1d2e4b5a6978877665544332211f3a9c1d2e4b5a6978877665544332211';
const ORG_ID = '00D5g000004Cf2PEAS';
const SF_ACK = providersFile.providers.salesforce?.vectors.find((v) => v.id === 'SF-001')
  ?.response_body as string;

function basic(credentials: string): string {
  return `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
}

/** A Pipedrive v2 webhook body; `attempt` changes on each retry, `meta.id` does not. */
function pipedriveBody(attempt: number): string {
  return JSON.stringify({
    meta: {
      action: 'change',
      entity: 'deal',
      entity_id: '123',
      id: '7a5ba8c2-0ebd-4f35-9a02-4fb2e7e0b7f4',
      version: '2.0',
      attempt,
    },
    data: { id: 123, title: 'Big deal' },
  });
}

/** An Outbound Messaging request with one Notification per `[notification id, account id]`. */
function soapBody(orgId: string, accounts: readonly [string, string][]): string {
  const notifications = accounts
    .map(
      ([id, accountId]) =>
        `<Notification><Id>${id}</Id><sObject xsi:type="sf:Account" ` +
        'xmlns:sf="urn:sobject.enterprise.soap.sforce.com">' +
        `<sf:Id>${accountId}</sf:Id></sObject></Notification>`,
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope ' +
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>' +
    '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">' +
    `<OrganizationId>${orgId}</OrganizationId><ActionId>04k5g000000XyZaAAK</ActionId>` +
    `${notifications}</notifications></soapenv:Body></soapenv:Envelope>`
  );
}

describe.each(BACKENDS)('POST /hooks/:source, credential schemes, on %s', (backend) => {
  const startGateway = useTestGateways(backend);
  const start = () =>
    startGateway({
      sources: {
        deals: { scheme: 'basic-auth', secrets: [PIPEDRIVE_SECRET] },
        sfdc: { scheme: 'salesforce-outbound', secrets: [ORG_ID.slice(0, 15)] },
        freshdesk: { scheme: 'header-token', secrets: [TOKEN], signatureHeader: 'X-Gateway-Token' },
      },
    });

  function post(
    app: TestApp['app'],
    source: string,
    body: string,
    headers: Record<string, string>,
  ) {
    return app.inject({ method: 'POST', url: `/hooks/${source}`, payload: body, headers });
  }

  it('basic-auth: accepts Pipedrive credentials, dedups a retry on meta.id, keeps no Authorization', async () => {
    const { app, store } = await start();
    const headers = { 'content-type': 'application/json', authorization: basic(PIPEDRIVE_SECRET) };
    const first = await post(app, 'deals', pipedriveBody(1), headers);
    expect(first.statusCode).toBe(202);
    const answer = first.json();
    expect(answer).toEqual({ event: expect.stringMatching(/^evt_/), duplicate: false });

    // Pipedrive retries with attempt 2: other bytes, same event.
    const retry = await post(app, 'deals', pipedriveBody(2), headers);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual({ event: answer.event, duplicate: true });

    expect(await countRows(store, 'events')).toBe(1);
    const row = await store.db.selectFrom('events').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      source: 'deals',
      provider_event_id: '7a5ba8c2-0ebd-4f35-9a02-4fb2e7e0b7f4',
      type: 'deal.change',
      record_type: 'deal',
      record_id: '123',
    });
    const stored = await store.db.selectFrom('webhook_requests').select('headers').execute();
    expect(stored).not.toHaveLength(0);
    for (const { headers: kept } of stored) {
      const names = Object.keys(typeof kept === 'string' ? JSON.parse(kept) : kept);
      expect(names).toContain('content-type');
      expect(names).not.toContain('authorization');
    }
  });

  it('never stores the shared token of a header-token source', async () => {
    const { app, store } = await start();
    const body = JSON.stringify({ type: 'ticket.updated', record: { type: 'ticket', id: '42' } });
    const response = await post(app, 'freshdesk', body, {
      'content-type': 'application/json',
      'x-gateway-token': TOKEN,
    });
    expect(response.statusCode).toBe(202);
    const stored = await store.db
      .selectFrom('webhook_requests')
      .select('headers')
      .executeTakeFirstOrThrow();
    expect(stored.headers).not.toContain(TOKEN);
    expect(Object.keys(JSON.parse(stored.headers))).not.toContain('x-gateway-token');
    const wrong = await post(app, 'freshdesk', body, { 'x-gateway-token': 'nope' });
    expect(wrong.statusCode).toBe(401);
  });

  it('refuses JSON nested deeper than 64 levels, as every scheme does, and still takes a body that is not JSON', async () => {
    const { app, store } = await start();
    const headers = { 'content-type': 'application/json', 'x-gateway-token': TOKEN };
    // Taken as not JSON, its type and record were dropped and it was stored outside any order.
    const deep = `{"type":"ticket.updated","record":{"type":"ticket","id":"1"},"d":${'['.repeat(100)}${']'.repeat(100)}}`;
    const refused = await post(app, 'freshdesk', deep, headers);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({
      type: 'urn:airlock:problem:malformed-body',
      detail: 'body nests objects and arrays more than 64 levels deep',
    });
    const basicAuth = {
      'content-type': 'application/json',
      authorization: basic(PIPEDRIVE_SECRET),
    };
    expect((await post(app, 'deals', deep, basicAuth)).statusCode).toBe(400);
    expect(await countRows(store, 'events')).toBe(0);
    const plain = await post(app, 'freshdesk', 'status=closed&id=1', {
      'content-type': 'text/plain',
      'x-gateway-token': TOKEN,
    });
    expect(plain.statusCode).toBe(202);
  });

  it.each([
    ['no Authorization header', {}, 'signature-missing'],
    ['a wrong password', { authorization: basic('pipedrive:wrong') }, 'signature-invalid'],
  ])('basic-auth: answers 401 for %s and stores nothing', async (_, headers, code) => {
    const { app, store } = await start();
    const response = await post(app, 'deals', pipedriveBody(1), headers);
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ type: `urn:airlock:problem:${code}` });
    expect(await countRows(store, 'events')).toBe(0);
  });

  it('salesforce-outbound: answers the SOAP Ack with 200, new or duplicate, one event per Notification', async () => {
    const { app, store } = await start();
    const body = soapBody(ORG_ID, [
      ['04l5g00000Ab1cdAAB', '0015g00000Qx7yzAAA'],
      ['04l5g00000Ab1ceAAB', '0015g00000Qx800AAA'],
    ]);
    const headers = { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' };
    for (const attempt of ['new', 'duplicate']) {
      const response = await post(app, 'sfdc', body, headers);
      expect(response.statusCode, attempt).toBe(200);
      expect(response.headers['content-type'], attempt).toMatch(/^text\/xml/);
      expect(response.body, attempt).toBe(SF_ACK);
    }
    const rows = await store.db
      .selectFrom('events')
      .select(['provider_event_id', 'record_type', 'record_id', 'duplicates'])
      .orderBy('provider_event_id')
      .execute();
    expect(rows).toEqual([
      {
        provider_event_id: '04l5g00000Ab1cdAAB',
        record_type: 'Account',
        record_id: '0015g00000Qx7yzAAA',
        duplicates: 1,
      },
      {
        provider_event_id: '04l5g00000Ab1ceAAB',
        record_type: 'Account',
        record_id: '0015g00000Qx800AAA',
        duplicates: 1,
      },
    ]);
  });

  it('salesforce-outbound: another org is refused with a 401 problem, not an Ack', async () => {
    const { app, store } = await start();
    const body = soapBody('00D5g000004Cf2QEAS', [['04l5g00000Ab1cdAAB', '0015g00000Qx7yzAAA']]);
    const response = await post(app, 'sfdc', body, { 'content-type': 'text/xml' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ type: 'urn:airlock:problem:signature-invalid' });
    expect(await countRows(store, 'events')).toBe(0);
  });
});
