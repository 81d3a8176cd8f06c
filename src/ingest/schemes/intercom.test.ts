import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSchemeOptions } from './check-config.js';
import { intercom } from './intercom.js';
import {
  expectMalformed,
  expectOutcome,
  makeRequest,
  optionsFor,
  providerVectors,
  testEachVector,
  type Vector,
  type VectorCases,
  vectorById,
} from './test-vectors.js';

const vectors = providerVectors('intercom');
const IC_002 = vectorById(vectors, 'IC-002');

function verify(headers: Record<string, string>, body: string, secrets: readonly string[]) {
  return intercom.verify(makeRequest({ headers, body }), secrets, optionsFor(), 0);
}

function verifyVector(vector: Vector) {
  return verify(vector.headers ?? {}, vector.body ?? '', [vector.secret ?? '']);
}

function sha1Header(secret: string, body: string): Record<string, string> {
  return { 'X-Hub-Signature': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}` };
}

const cases: VectorCases = {
  'IC-001': {
    note: 'docs header: parses as sha1=<40 hex>, but no secret or exact body to verify with',
    run: (vector) => {
      expect(vector.expect).toBe('parse_only');
      const [name, value] = (vector.header ?? '').split(': ');
      expect(name?.toLowerCase()).toBe('x-hub-signature');
      expect(value).toMatch(/^sha1=[0-9a-f]{40}$/);
      // Under any key we have, the docs signature does not match an unrelated body.
      expectOutcome(
        verify({ [name as string]: value as string }, '{}', ['x']),
        'signature-invalid',
      );
    },
  },
  'IC-002': {
    run: (vector) => {
      expect(vector.expect).toBe('valid');
      expectOutcome(verifyVector(vector), 'valid');
    },
  },
  'IC-003': {
    run: (vector) => {
      expect(vector.expect).toBe('invalid');
      expectOutcome(verifyVector(vector), 'signature-invalid');
    },
  },
  'IC-004': {
    note: 'SHA-256 in the sha1= slot refused; hmac-sha256 also refuses a sha1= prefix',
    run: (vector) => {
      expect(vector.expect).toBe('invalid');
      // The digest is the real HMAC-SHA256 of the body: only its length keeps it out.
      const digest = createHmac('sha256', vector.secret ?? '')
        .update(vector.body ?? '')
        .digest('hex');
      expect(vector.headers?.['X-Hub-Signature']).toBe(`sha1=${digest}`);
      expectOutcome(verifyVector(vector), 'signature-invalid');
      const confused = optionsFor(undefined, {
        signatureHeader: 'x-hub-signature',
        signaturePrefix: 'sha1=',
      });
      expect(checkSchemeOptions('hmac-sha256', confused)).toMatch(/another algorithm/);
    },
  },
};

describe('intercom vectors', () => {
  testEachVector(vectors, cases);
});

describe('intercom verify', () => {
  const body = IC_002.body as string;
  const secret = IC_002.secret as string;

  it('accepts either secret in a rotation and never an empty one', () => {
    const headers = sha1Header(secret, body);
    expectOutcome(verify(headers, body, ['old', secret]), 'valid');
    expectOutcome(verify(headers, body, ['old']), 'signature-invalid');
    expectOutcome(verify(sha1Header('', body), body, ['']), 'signature-invalid');
  });

  it.each([
    ['no header', {}, 'signature-missing'],
    ['a blank header', { 'x-hub-signature': ' ' }, 'signature-missing'],
    ['no sha1= prefix', { 'x-hub-signature': 'ab'.repeat(20) }, 'signature-invalid'],
    ['a truncated digest', { 'x-hub-signature': `sha1=${'ab'.repeat(19)}` }, 'signature-invalid'],
  ] as const)('rejects %s', (_, headers, outcome) => {
    expectOutcome(verify(headers, body, [secret]), outcome);
  });
});

describe('intercom identify', () => {
  const identify = (body: string) => intercom.identify(makeRequest({ body }), optionsFor());

  it('takes the notification id, the topic and data.item', () => {
    expect(identify(IC_002.body as string)).toEqual([
      {
        providerEventId: 'notif_78c122d0-23ba-11e4-9464-79b01267cc2e',
        dedupKey: 'notif_78c122d0-23ba-11e4-9464-79b01267cc2e',
        type: 'user.created',
        record: { type: 'user', id: '530370b477ad7120001d' },
        occurredAt: null,
        itemIndex: null,
      },
    ]);
  });

  it('reads created_at in seconds; no data.item means no record', () => {
    const [event] = identify('{"id":"notif_1","topic":"ping","created_at":1700000000}');
    expect(event).toMatchObject({ type: 'ping', record: null, occurredAt: 1_700_000_000_000 });
  });

  it.each([
    ['no id', '{"topic":"user.created"}'],
    ['not JSON', 'topic=user.created'],
    ['a JSON array', '[]'],
  ])('refuses a body with %s', (_, body) => {
    expectMalformed(() => identify(body));
  });
});
