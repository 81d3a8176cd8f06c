import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { basicAuth } from './basic-auth.js';
import {
  expectOutcome,
  makeRequest,
  type Outcome,
  optionsFor,
  providerVectors,
  testEachVector,
  type Vector,
  type VectorCases,
} from './test-vectors.js';

function verify(headers: Record<string, string>, secrets: readonly string[], body = '') {
  return basicAuth.verify(makeRequest({ headers, body }), secrets, optionsFor(), 0);
}

/** The vector's `username:password`, as the source's secret is written. */
function secretOf(vector: Vector): string {
  return `${vector.username}:${vector.password}`;
}

function basic(credentials: string, word = 'Basic'): Record<string, string> {
  return { authorization: `${word} ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

/** Runs a vector whose `expect` is `expected`, asserting `outcome` with the vector's secret. */
function verdict(expected: string, outcome: Outcome) {
  return (vector: Vector) => {
    expect(vector.expect).toBe(expected);
    expectOutcome(verify(vector.headers ?? {}, [secretOf(vector)]), outcome);
  };
}

const cases: VectorCases = {
  'FD-001': { run: verdict('valid', 'valid') },
  'FD-002': { run: verdict('invalid', 'signature-invalid') },
  'PD-001': { run: verdict('valid', 'valid') },
  'PD-002': {
    note: 'split on the first colon: user pd, password a:b:c',
    run: (vector) => {
      verdict('valid', 'valid')(vector);
      expect(secretOf(vector)).toBe('pd:a:b:c');
      // The same bytes split elsewhere are other credentials, and do not match.
      expectOutcome(verify(vector.headers ?? {}, ['pd:a:b']), 'signature-invalid');
      expectOutcome(verify(vector.headers ?? {}, ['pd:a']), 'signature-invalid');
    },
  },
  'PD-003': {
    note: 'decided: accepted, the scheme word is case-insensitive and spaces are 1*SP',
    run: (vector) => {
      expect(vector.expect).toMatch(/^valid \(lenient\)/);
      expect(vector.headers?.Authorization).toMatch(/^basic {2}/);
      expectOutcome(verify(vector.headers ?? {}, [secretOf(vector)]), 'valid');
    },
  },
  'PD-004': { note: 'no header: signature-missing', run: verdict('invalid', 'signature-missing') },
};

describe('basic-auth vectors (Freshdesk FD-001/002, Pipedrive)', () => {
  // FD-003 is a header token, tested in header-token.test.ts.
  const vectors = [
    ...providerVectors('freshdesk').filter((vector) => vector.id !== 'FD-003'),
    ...providerVectors('pipedrive'),
  ];

  testEachVector(vectors, cases);
});

describe('basic-auth verify', () => {
  const SECRET = 'user:p@ss';

  it('accepts either secret in a rotation, BASIC in capitals and UTF-8 credentials', () => {
    expectOutcome(verify(basic(SECRET), ['old:one', SECRET]), 'valid');
    expectOutcome(verify(basic(SECRET, 'BASIC'), [SECRET]), 'valid');
    expectOutcome(verify(basic('zoë:😊'), ['zoë:😊']), 'valid');
  });

  it.each([
    ['a blank header', { authorization: '  ' }, 'signature-missing'],
    ['another scheme', { authorization: 'Bearer dXNlcjpwQHNz' }, 'signature-invalid'],
    ['no space after the scheme word', { authorization: 'BasicdXNlcjpwQHNz' }, 'signature-invalid'],
    ['non-canonical base64', { authorization: 'Basic dXNlcjpwQHNz=' }, 'signature-invalid'],
    ['base64 with junk', { authorization: 'Basic dXNlcjpw*QHNz' }, 'signature-invalid'],
    ['credentials without a colon', basic('userp@ss'), 'signature-invalid'],
    ['the password alone', basic('p@ss'), 'signature-invalid'],
    ['a wrong user', basic('usr:p@ss'), 'signature-invalid'],
    ['a password with a trailing space', basic('user:p@ss '), 'signature-invalid'],
  ] as const)('rejects %s', (_, headers, outcome) => {
    expectOutcome(verify(headers, [SECRET]), outcome);
  });

  it('never matches an empty secret', () => {
    expectOutcome(verify({ authorization: 'Basic ' }, ['']), 'signature-invalid');
    expectOutcome(verify(basic(':'), ['', ':x']), 'signature-invalid');
  });
});

describe('basic-auth identify', () => {
  const identify = (body: string) => basicAuth.identify(makeRequest({ body }), optionsFor());
  const hash = (body: string) => createHash('sha256').update(body).digest('hex');

  it('uses the content hash and payload type/record for a generic body', () => {
    const body = '{"type":"ticket.updated","record":{"type":"ticket","id":42}}';
    expect(identify(body)).toEqual([
      {
        providerEventId: hash(body),
        dedupKey: hash(body),
        type: 'ticket.updated',
        record: { type: 'ticket', id: '42' },
        occurredAt: null,
        itemIndex: null,
      },
    ]);
  });

  it('takes a Pipedrive v2 body by meta.id, whatever the attempt', () => {
    const meta = {
      action: 'change',
      entity: 'deal',
      entity_id: '123',
      id: '7a5ba8c2-0ebd-4f35-9a02-4fb2e7e0b7f4',
      timestamp: '2025-04-15T15:41:43.000Z',
      version: '2.0',
    };
    const expected = {
      providerEventId: meta.id,
      dedupKey: meta.id,
      type: 'deal.change',
      record: { type: 'deal', id: '123' },
      occurredAt: null,
      itemIndex: null,
    };
    const first = JSON.stringify({ meta: { ...meta, attempt: 1 }, data: { id: 123 } });
    const retry = JSON.stringify({ meta: { ...meta, attempt: 2 }, data: { id: 123 } });
    expect(identify(first)).toEqual([expected]);
    expect(identify(retry)).toEqual([expected]);
  });

  it.each([
    ['a meta without version 2.0', '{"meta":{"id":"m1","version":"1.0"}}'],
    ['a v2 meta without id', '{"meta":{"version":"2.0","entity":"deal"}}'],
    ['plain text', 'ticket=1'],
    ['an empty body', ''],
  ])('falls back to the content hash for %s', (_, body) => {
    const [event] = identify(body);
    expect(event?.dedupKey).toBe(hash(body));
  });
});
