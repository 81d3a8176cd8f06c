import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hubspotSignedUri, hubspotV3 } from './hubspot-v3.js';
import {
  expectMalformed,
  expectOutcome,
  makeRequest,
  type Outcome,
  optionsFor,
  providerVectors,
  testEachVector,
  type Vector,
  type VectorCases,
  vectorById,
} from './test-vectors.js';

const vectors = providerVectors('hubspot');
const SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const URL_ = 'https://gateway.example.com/webhooks/hubspot?portalId=62515';
const NOW_MS = 1700000001000;

function sign(
  secret: string,
  method: string,
  uri: string,
  body: string,
  timestamp: string,
): string {
  return createHmac('sha256', secret).update(`${method}${uri}${body}${timestamp}`).digest('base64');
}

function v3Request(parts: {
  signature: string;
  timestamp: string;
  body: string;
  url?: string;
  method?: string;
}) {
  return makeRequest({
    method: parts.method ?? 'POST',
    url: parts.url ?? URL_,
    body: parts.body,
    headers: {
      'X-HubSpot-Signature-v3': parts.signature,
      'X-HubSpot-Request-Timestamp': parts.timestamp,
    },
  });
}

function verifyAt(request: ReturnType<typeof makeRequest>, secrets: string[], nowMs = NOW_MS) {
  return hubspotV3.verify(request, secrets, optionsFor(), nowMs);
}

/** A vector with headers, method, uri, body and a clock. */
function runVector(vector: Vector, outcome: Outcome): void {
  expect(vector.expect).toBe(outcome === 'valid' ? 'valid' : 'invalid');
  const request = makeRequest({
    method: vector.method ?? 'POST',
    url: vector.uri ?? '',
    headers: vector.headers ?? {},
    body: vector.body ?? '',
  });
  expectOutcome(verifyAt(request, [vector.client_secret ?? ''], vector.verify_now_ms), outcome);
}

/**
 * HubSpot signature v1/v2 vectors, as HubSpot sends them (X-HubSpot-Signature with a version
 * header): Airlock accepts only v3, so hubspot-v3 answers signature-missing; the same digest
 * moved into the v3 header does not verify either.
 */
function rejectLegacy(vector: Vector): void {
  expect(['v1', 'v2']).toContain(vector.version);
  expect(vector.expect).toBe('valid');
  const method = vector.method ?? 'POST';
  const url = vector.uri ?? URL_;
  const body = vector.body ?? '';
  const legacy = makeRequest({
    method,
    url,
    body,
    headers: {
      'X-HubSpot-Signature': vector.expected_signature as string,
      'X-HubSpot-Signature-Version': vector.version as string,
    },
  });
  expectOutcome(verifyAt(legacy, [SECRET]), 'signature-missing');
  const moved = v3Request({
    signature: vector.expected_signature as string,
    timestamp: String(NOW_MS),
    body,
    url,
    method,
  });
  expectOutcome(verifyAt(moved, [SECRET]), 'signature-invalid');
}

const cases: VectorCases = {
  'HS-001': { note: 'v1 not accepted: rejected by hubspot-v3', run: rejectLegacy },
  'HS-002': { note: 'v2 not accepted: rejected by hubspot-v3', run: rejectLegacy },
  'HS-003': { note: 'v2 not accepted: rejected by hubspot-v3', run: rejectLegacy },
  'HS-004': { note: 'v1 not accepted: rejected by hubspot-v3', run: rejectLegacy },
  'HS-005': { note: 'v2 not accepted: rejected by hubspot-v3', run: rejectLegacy },
  'HS-006': {
    note: 'valid with the clock at its timestamp, stale with a current clock',
    run: (vector) => {
      const timestamp = vector.timestamp_ms ?? '';
      const request = v3Request({
        signature: vector.expected_signature as string,
        timestamp,
        body: vector.body ?? '',
        url: vector.uri ?? '',
        method: vector.method ?? '',
      });
      expect(`${vector.method}${vector.uri}${vector.body}${timestamp}`).toBe(vector.signed_string);
      expectOutcome(verifyAt(request, [SECRET], Number(timestamp) + 1000), 'valid');
      expectOutcome(verifyAt(request, [SECRET], NOW_MS), 'timestamp-out-of-tolerance');
    },
  },
  'HS-007': { run: (vector) => runVector(vector, 'valid') },
  'HS-008': { run: (vector) => runVector(vector, 'timestamp-out-of-tolerance') },
  'HS-009': {
    note: 'seconds read as ms look 53 years old',
    run: (vector) => runVector(vector, 'timestamp-out-of-tolerance'),
  },
  'HS-010': {
    note: 'the documented decode list is followed: the raw-URI signature is rejected',
    run: (vector) => {
      expect(hubspotSignedUri(vector.uri_as_received as string)).toBe(vector.uri_decoded_per_docs);
      const request = (signature: string) =>
        v3Request({
          signature,
          timestamp: vector.timestamp_ms ?? '',
          body: vector.body ?? '',
          url: vector.uri_as_received as string,
          method: vector.method ?? '',
        });
      const now = Number(vector.timestamp_ms);
      expectOutcome(
        verifyAt(request(vector.expected_signature_decoded as string), [SECRET], now),
        'valid',
      );
      expectOutcome(
        verifyAt(request(vector.expected_signature_raw as string), [SECRET], now),
        'signature-invalid',
      );
    },
  },
  'HS-011': { run: (vector) => runVector(vector, 'signature-invalid') },
};

describe('hubspot-v3: every hubspot vector in providers.json', () => {
  testEachVector(vectors, cases);
});

describe('hubspot-v3 verify', () => {
  const body = vectorById(vectors, 'HS-007').body ?? '';
  const signedAt = (ms: number, secret = SECRET, url = URL_) =>
    v3Request({
      signature: sign(secret, 'POST', url, body, String(ms)),
      timestamp: String(ms),
      body,
      url,
    });

  it.each([
    [-300_000, 'valid'],
    [-301_000, 'timestamp-out-of-tolerance'],
    [-300_001, 'timestamp-out-of-tolerance'],
    [0, 'valid'],
  ] as const)('a timestamp %i ms from now is %s', (offset, expected) => {
    expectOutcome(verifyAt(signedAt(NOW_MS + offset), [SECRET]), expected);
  });

  it('accepts a timestamp in the future: HubSpot documents an age check only', () => {
    expectOutcome(verifyAt(signedAt(NOW_MS + 301_000), [SECRET]), 'valid');
  });

  it('rejects a tampered body, a wrong secret, another URL and another method', () => {
    const good = signedAt(NOW_MS);
    expectOutcome(verifyAt(good, [SECRET]), 'valid');
    expectOutcome(
      verifyAt({ ...good, body: Buffer.from(body.replace('901', '902')) }, [SECRET]),
      'signature-invalid',
    );
    expectOutcome(verifyAt(good, ['zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz']), 'signature-invalid');
    expectOutcome(verifyAt({ ...good, url: `${URL_}&x=1` }, [SECRET]), 'signature-invalid');
    expectOutcome(verifyAt({ ...good, method: 'PUT' }, [SECRET]), 'signature-invalid');
  });

  it('accepts either client secret during a rotation', () => {
    const rotated = 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz';
    expectOutcome(verifyAt(signedAt(NOW_MS, rotated), [SECRET, rotated]), 'valid');
    expectOutcome(verifyAt(signedAt(NOW_MS, SECRET), [SECRET, rotated]), 'valid');
  });

  it('decodes the documented escapes in either case and leaves the others', () => {
    expect(hubspotSignedUri('https://h/p?a=x%3ay%2Fz&b=%20%25%3B')).toBe(
      'https://h/p?a=x:y/z&b=%20%25;',
    );
    const url = 'https://gateway.example.com/hooks/crm?cb=https%3a%2f%2fexample.com';
    const request = v3Request({
      signature: sign(
        SECRET,
        'POST',
        'https://gateway.example.com/hooks/crm?cb=https://example.com',
        body,
        String(NOW_MS),
      ),
      timestamp: String(NOW_MS),
      body,
      url,
    });
    expectOutcome(verifyAt(request, [SECRET]), 'valid');
  });

  it('verifies a multibyte UTF-8 body over its bytes', () => {
    const utf8 = JSON.stringify([
      {
        eventId: 1,
        portalId: 2,
        subscriptionType: 'contact.propertyChange',
        objectId: 3,
        occurredAt: 4,
        propertyName: 'firstname',
        propertyValue: 'Zoë 😊',
      },
    ]);
    const request = v3Request({
      signature: sign(SECRET, 'POST', URL_, utf8, String(NOW_MS)),
      timestamp: String(NOW_MS),
      body: utf8,
    });
    expectOutcome(verifyAt(request, [SECRET]), 'valid');
  });

  it.each([
    ['no signature header', {}, 'signature-missing'],
    ['an empty signature header', { 'x-hubspot-signature-v3': '' }, 'signature-missing'],
    ['no timestamp header', { 'x-hubspot-signature-v3': 'abc=' }, 'signature-invalid'],
    [
      'a non-integer timestamp',
      { 'x-hubspot-signature-v3': 'abc=', 'x-hubspot-request-timestamp': '1.7e12' },
      'signature-invalid',
    ],
    [
      'a truncated signature',
      {
        'x-hubspot-signature-v3': 'jmy3cLSL3tbafmhNL4w1',
        'x-hubspot-request-timestamp': '1700000000000',
      },
      'signature-invalid',
    ],
    [
      'a non-ASCII signature',
      { 'x-hubspot-signature-v3': 'é'.repeat(44), 'x-hubspot-request-timestamp': '1700000000000' },
      'signature-invalid',
    ],
  ] as const)('rejects %s', (_, headers, expected) => {
    const request = makeRequest({ url: URL_, headers, body });
    expectOutcome(verifyAt(request, [SECRET]), expected);
  });
});

describe('hubspot-v3 identify', () => {
  const item = (fields: Record<string, unknown>) => ({
    eventId: 4211,
    subscriptionId: 731,
    portalId: 62515,
    appId: 54321,
    occurredAt: 1699999999000,
    subscriptionType: 'contact.propertyChange',
    attemptNumber: 0,
    objectId: 901,
    propertyName: 'lifecyclestage',
    propertyValue: 'customer',
    changeSource: 'CRM',
    ...fields,
  });
  const identify = (items: unknown) =>
    hubspotV3.identify(makeRequest({ body: JSON.stringify(items) }), optionsFor());

  it('reads the HS-007 delivery as one event', () => {
    const body = vectorById(vectors, 'HS-007').body ?? '';
    expect(hubspotV3.identify(makeRequest({ body }), optionsFor())).toEqual([
      {
        providerEventId: '4211',
        dedupKey: JSON.stringify([
          '62515',
          'contact.propertyChange',
          '901',
          '4211',
          1699999999000,
          'lifecyclestage',
          'customer',
        ]),
        type: 'contact.propertyChange',
        record: { type: 'contact', id: '901' },
        occurredAt: 1699999999000,
        itemIndex: 0,
      },
    ]);
  });

  it('gives each item of a batch its own identity, dedup key and index', () => {
    const events = identify([
      item({}),
      item({
        eventId: 4212,
        subscriptionType: 'deal.creation',
        objectId: 77,
        propertyName: undefined,
        propertyValue: undefined,
      }),
      item({
        eventId: 4213,
        subscriptionType: 'object.propertyChange',
        objectTypeId: '2-123',
        objectId: 5,
      }),
    ]);
    expect(events.map((event) => event.itemIndex)).toEqual([0, 1, 2]);
    expect(events.map((event) => event.record)).toEqual([
      { type: 'contact', id: '901' },
      { type: 'deal', id: '77' },
      { type: '2-123', id: '5' },
    ]);
    expect(events.map((event) => event.providerEventId)).toEqual(['4211', '4212', '4213']);
    expect(new Set(events.map((event) => event.dedupKey)).size).toBe(3);
  });

  it('gives a retried event (higher attemptNumber) the same dedup key', () => {
    const [first] = identify([item({ attemptNumber: 0 })]);
    const [retry] = identify([item({ attemptNumber: 3 })]);
    expect(retry?.dedupKey).toBe(first?.dedupKey);
  });

  it.each([
    ['another propertyValue', { propertyValue: 'lead' }],
    ['another propertyName', { propertyName: 'email' }],
    ['another occurredAt', { occurredAt: 1699999999001 }],
    ['another portal', { portalId: 1 }],
    ['another object', { objectId: 902 }],
    ['another subscriptionType', { subscriptionType: 'contact.creation' }],
  ])('gives the same eventId with %s a different dedup key', (_, change) => {
    const [first] = identify([item({})]);
    const [other] = identify([item(change)]);
    expect(other?.dedupKey).not.toBe(first?.dedupKey);
  });

  it('treats numeric and string ids alike and cannot be confused by separators', () => {
    const [numeric] = identify([item({})]);
    const [text] = identify([item({ portalId: '62515', eventId: '4211', objectId: '901' })]);
    expect(text?.dedupKey).toBe(numeric?.dedupKey);
    const [a] = identify([item({ propertyName: 'a","b', propertyValue: 'c' })]);
    const [b] = identify([item({ propertyName: 'a', propertyValue: 'b","c' })]);
    expect(a?.dedupKey).not.toBe(b?.dedupKey);
  });

  it('has no record for an associationChange, which names no objectId', () => {
    const [event] = identify([
      item({
        subscriptionType: 'contact.associationChange',
        objectId: undefined,
        fromObjectId: 1,
        toObjectId: 2,
      }),
    ]);
    expect(event?.record).toBeNull();
    expect(event?.type).toBe('contact.associationChange');
  });

  it.each([
    ['an empty array', '[]'],
    ['an object', '{"eventId":1}'],
    ['not JSON', 'eventId=1'],
    ['an empty body', ''],
    ['an item that is not an object', '[1]'],
    ['an item without subscriptionType', JSON.stringify([item({ subscriptionType: undefined })])],
    ['an item without eventId', JSON.stringify([item({ eventId: undefined })])],
    ['an item without portalId', JSON.stringify([item({ portalId: undefined })])],
    ['an item whose occurredAt is a string', JSON.stringify([item({ occurredAt: '2023-11-14' })])],
    ['a bad second item', JSON.stringify([item({}), { eventId: 2 }])],
  ])('throws malformed-body for %s', (_, body) => {
    expectMalformed(() => hubspotV3.identify(makeRequest({ body }), optionsFor()));
  });
});
