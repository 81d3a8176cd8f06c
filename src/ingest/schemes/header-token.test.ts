import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headerToken } from './header-token.js';
import type { SchemeOptions } from './scheme.js';
import {
  expectOutcome,
  makeRequest,
  optionsFor,
  providerVectors,
  testEachVector,
  type VectorCases,
} from './test-vectors.js';

const GATEWAY_TOKEN: Partial<SchemeOptions> = { signatureHeader: 'X-Gateway-Token' };
const TOKEN = 'a-long-random-shared-token';

function verify(
  headers: Record<string, string>,
  secrets: readonly string[],
  options = GATEWAY_TOKEN,
) {
  return headerToken.verify(
    makeRequest({ headers, body: '{"ticket_id":1}' }),
    secrets,
    optionsFor(undefined, options),
    0,
  );
}

const cases: VectorCases = {
  'FD-003': {
    note: 'X-Gateway-Token as signatureHeader; the body is not involved',
    run: (vector) => {
      expect(vector.expect).toBe('valid');
      const token = vector.configured_token as string;
      expectOutcome(verify(vector.headers ?? {}, [token]), 'valid');
      expectOutcome(verify(vector.headers ?? {}, [token.replace(/e$/, 'f')]), 'signature-invalid');
    },
  },
};

describe('header-token vectors (Freshdesk FD-003)', () => {
  // FD-001/002 are Basic auth, tested in basic-auth.test.ts.
  testEachVector(
    providerVectors('freshdesk').filter((vector) => vector.id === 'FD-003'),
    cases,
  );
});

describe('header-token verify', () => {
  it('accepts either secret in a rotation and ignores surrounding whitespace', () => {
    expectOutcome(verify({ 'x-gateway-token': TOKEN }, ['old-token', TOKEN]), 'valid');
    expectOutcome(verify({ 'x-gateway-token': ` ${TOKEN} ` }, [TOKEN]), 'valid');
  });

  it.each([
    ['no configured header', {}, { 'x-gateway-token': TOKEN }, 'signature-missing'],
    ['no header', GATEWAY_TOKEN, {}, 'signature-missing'],
    ['a blank header', GATEWAY_TOKEN, { 'x-gateway-token': '' }, 'signature-missing'],
    ['the token in another header', GATEWAY_TOKEN, { 'x-token': TOKEN }, 'signature-missing'],
    [
      'a prefix of the token',
      GATEWAY_TOKEN,
      { 'x-gateway-token': TOKEN.slice(0, -1) },
      'signature-invalid',
    ],
    [
      'the token in another case',
      GATEWAY_TOKEN,
      { 'x-gateway-token': TOKEN.toUpperCase() },
      'signature-invalid',
    ],
  ] as const)('rejects %s', (_, options, headers, outcome) => {
    expectOutcome(verify(headers, [TOKEN], options), outcome);
  });

  it('never matches an empty secret', () => {
    expectOutcome(verify({ 'x-gateway-token': 'x' }, ['']), 'signature-invalid');
  });
});

describe('header-token identify', () => {
  it('identifies like basic-auth: content hash, payload type and record', () => {
    const body = '{"type":"ticket.updated","record":{"type":"ticket","id":"T-1"}}';
    const hash = createHash('sha256').update(body).digest('hex');
    expect(headerToken.identify(makeRequest({ body }), optionsFor())).toEqual([
      {
        providerEventId: hash,
        dedupKey: hash,
        type: 'ticket.updated',
        record: { type: 'ticket', id: 'T-1' },
        occurredAt: null,
        itemIndex: null,
      },
    ]);
  });
});
