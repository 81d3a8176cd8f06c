import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSecret } from './check-config.js';
import { parseStripeSignatureHeader, stripe } from './stripe.js';
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
} from './test-vectors.js';

const vectors = providerVectors('stripe');
const SECRET = 'whsec_test_secret';
const T = 1700000000;
const BODY = '{\n  "id": "evt_test_webhook",\n  "object": "event"\n}';

function sign(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
}

function stripeRequest(header: string | undefined, body = BODY) {
  return makeRequest({ headers: header === undefined ? {} : { 'Stripe-Signature': header }, body });
}

function verifyAt(request: ReturnType<typeof makeRequest>, secrets: string[], nowS = T + 10) {
  return stripe.verify(request, secrets, optionsFor(), nowS * 1000);
}

function runVector(vector: Vector, outcome: Outcome, secrets = [vector.secret ?? '']): void {
  const request = stripeRequest(vector.headers?.['Stripe-Signature'], vector.body);
  expectOutcome(verifyAt(request, secrets, vector.verify_now), outcome);
}

/** Runs a vector whose `expect` is `expected`, asserting `outcome`. */
function verdict(expected: string, outcome: Outcome) {
  return (vector: Vector) => {
    expect(vector.expect).toBe(expected);
    runVector(vector, outcome);
  };
}

const cases: VectorCases = {
  'ST-001': {
    note: 'valid with the clock at t, stale with a current clock',
    run: (vector) => {
      const header = `t=${vector.t},v1=${vector.expected_v1}`;
      expect(sign(vector.secret ?? '', vector.t ?? 0, vector.body ?? '')).toBe(vector.expected_v1);
      const request = stripeRequest(header, vector.body);
      expectOutcome(verifyAt(request, [vector.secret ?? ''], vector.t), 'valid');
      expectOutcome(verifyAt(request, [vector.secret ?? '']), 'timestamp-out-of-tolerance');
    },
  },
  'ST-002': { run: verdict('valid', 'valid') },
  'ST-003': { run: verdict('valid', 'valid') },
  'ST-004': { run: verdict('invalid', 'signature-invalid') },
  'ST-005': { run: verdict('invalid', 'timestamp-out-of-tolerance') },
  'ST-006': {
    note: 'the recommended policy: the future is bounded too, unlike stripe-node',
    run: (vector) => {
      expect(vector.expect_recommended).toBe('invalid');
      runVector(vector, 'timestamp-out-of-tolerance');
    },
  },
  'ST-007': {
    note: 'parse only',
    run: (vector) => {
      expect(vector.expect).toBe('parse_only');
      const parsed = parseStripeSignatureHeader(vector.header ?? '');
      const expected = vector.expect_parse as { t: number; v1: string[] };
      expect(parsed).toEqual({ timestamps: [String(expected.t)], v1: expected.v1 });
    },
  },
  'ST-008': { run: verdict('invalid', 'signature-invalid') },
  'ST-009': {
    note: 'checkSecret refuses it at start-up',
    run: (vector) => {
      verdict('invalid', 'signature-invalid')(vector);
      expect(checkSecret('stripe', vector.secret ?? '')).toMatch(/whitespace/);
    },
  },
  'ST-010': {
    note: 'old, new or both secrets configured',
    run: (vector) => {
      expect(vector.expect).toBe('valid');
      const old = vector.old_secret ?? '';
      const rolled = vector.new_secret ?? '';
      for (const secrets of [[old], [rolled], [old, rolled], [rolled, old]]) {
        runVector(vector, 'valid', secrets);
      }
      runVector(vector, 'signature-invalid', ['whsec_someone_else']);
    },
  },
};

describe('stripe: every stripe vector in providers.json', () => {
  testEachVector(vectors, cases);
});

describe('stripe verify', () => {
  const good = `t=${T},v1=${sign(SECRET, T, BODY)}`;

  it.each([
    [-300, 'valid'],
    [300, 'valid'],
    [-301, 'timestamp-out-of-tolerance'],
    [301, 'timestamp-out-of-tolerance'],
  ] as const)('a t %i s from now is %s', (offset, expected) => {
    const t = T + offset;
    const request = stripeRequest(`t=${t},v1=${sign(SECRET, t, BODY)}`);
    expectOutcome(verifyAt(request, [SECRET], T), expected);
  });

  it('rejects a tampered body and a wrong secret', () => {
    expectOutcome(verifyAt(stripeRequest(good), [SECRET]), 'valid');
    expectOutcome(
      verifyAt(stripeRequest(good, BODY.replace('evt_', 'evx_')), [SECRET]),
      'signature-invalid',
    );
    expectOutcome(verifyAt(stripeRequest(good), ['whsec_other']), 'signature-invalid');
  });

  it('accepts the matching v1 among several, in any order, next to v0 and unknown schemes', () => {
    const decoy = `v1=${'ab'.repeat(32)}`;
    const header = `t=${T},v0=${'cd'.repeat(32)},${decoy},v1=${sign(SECRET, T, BODY)},v9=x`;
    expectOutcome(verifyAt(stripeRequest(header), [SECRET]), 'valid');
  });

  it('verifies an empty body and a multibyte UTF-8 body over their bytes', () => {
    for (const body of ['', '{"id":"evt_1","description":"Zoë 😊 café"}']) {
      expectOutcome(
        verifyAt(stripeRequest(`t=${T},v1=${sign(SECRET, T, body)}`, body), [SECRET]),
        'valid',
      );
    }
  });

  it.each([
    ['no header', undefined, 'signature-missing'],
    ['an empty header', '', 'signature-missing'],
    ['no t=', `v1=${sign(SECRET, T, BODY)}`, 'signature-invalid'],
    ['two t=', `t=${T},t=${T + 1},v1=${sign(SECRET, T, BODY)}`, 'signature-invalid'],
    ['a non-integer t', `t=${T}.0,v1=${sign(SECRET, T, BODY)}`, 'signature-invalid'],
    ['no v1', `t=${T}`, 'signature-invalid'],
    ['an empty v1', `t=${T},v1=`, 'signature-invalid'],
    ['a truncated v1', `t=${T},v1=${sign(SECRET, T, BODY).slice(0, 40)}`, 'signature-invalid'],
    ['a non-ASCII v1', `t=${T},v1=${'é'.repeat(64)}`, 'signature-invalid'],
    [
      'a base64 v1',
      `t=${T},v1=${Buffer.from(sign(SECRET, T, BODY), 'hex').toString('base64')}`,
      'signature-invalid',
    ],
  ] as const)('rejects %s', (_, header, expected) => {
    expectOutcome(verifyAt(stripeRequest(header), [SECRET]), expected);
  });
});

describe('stripe identify', () => {
  const identify = (body: string) => stripe.identify(makeRequest({ body }), optionsFor());

  it('reads id, type, data.object and created', () => {
    const body = JSON.stringify({
      id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
      object: 'event',
      type: 'invoice.paid',
      created: 1686089970,
      data: { object: { id: 'in_1NG8Dt2eZvKYlo2C', object: 'invoice' } },
    });
    expect(identify(body)).toEqual([
      {
        providerEventId: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
        dedupKey: 'evt_1NG8Du2eZvKYlo2CUI79vXWy',
        type: 'invoice.paid',
        record: { type: 'invoice', id: 'in_1NG8Dt2eZvKYlo2C' },
        occurredAt: 1686089970000,
        itemIndex: null,
      },
    ]);
  });

  it('has no record or time when the event carries none', () => {
    const [event] = identify('{"id":"evt_1","type":"ping","data":{}}');
    expect(event).toMatchObject({ record: null, occurredAt: null });
  });

  it.each([
    ['not JSON', 'id=evt_1'],
    ['an empty body', ''],
    ['an array', '[{"id":"evt_1","type":"a"}]'],
    ['no id', '{"type":"invoice.paid"}'],
    ['a numeric id', '{"id":1,"type":"invoice.paid"}'],
    ['no type', '{"id":"evt_1"}'],
  ])('throws malformed-body for %s', (_, body) => {
    expectMalformed(() => identify(body));
  });
});
