import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { checkSecret } from './check-config.js';
import { parseSignatureHeader, standardWebhooks } from './standard-webhooks.js';
import {
  expectMalformed,
  expectOutcome,
  makeRequest,
  type Outcome,
  optionsFor,
  standardWebhooksFile,
  testEachVector,
  type Vector,
  type VectorCases,
  vectorById,
} from './test-vectors.js';

const vectors = standardWebhooksFile.vectors;
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const MSG_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const NOW_S = 1614265330;
const PAYLOAD = '{"test": 2432232314}';

/** Signs as a sender would, with node:crypto directly rather than the code under test. */
function sign(secret: string, id: string, seconds: number, body: string | Buffer): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const digest = createHmac('sha256', key).update(`${id}.${seconds}.`).update(body).digest();
  return `v1,${digest.toString('base64')}`;
}

function swRequest(headers: Record<string, string>, body: string | Buffer = PAYLOAD) {
  return makeRequest({ headers, body });
}

interface MessageParts {
  id?: string;
  seconds?: number;
  body?: string;
}

/** A message (MSG_ID, NOW_S, PAYLOAD unless given) with `signature` as its signature header. */
function requestWithSignature(signature: string, parts: MessageParts = {}) {
  const headers = {
    'webhook-id': parts.id ?? MSG_ID,
    'webhook-timestamp': String(parts.seconds ?? NOW_S),
    'webhook-signature': signature,
  };
  return swRequest(headers, parts.body ?? PAYLOAD);
}

/** A message (MSG_ID, NOW_S, PAYLOAD unless given) signed with `secret`, else SECRET. */
function signedRequest(parts: MessageParts & { secret?: string }) {
  const id = parts.id ?? MSG_ID;
  const seconds = parts.seconds ?? NOW_S;
  const signature = sign(parts.secret ?? SECRET, id, seconds, parts.body ?? PAYLOAD);
  return requestWithSignature(signature, parts);
}

function verifyAt(request: ReturnType<typeof makeRequest>, secrets: string[], nowS = NOW_S) {
  return standardWebhooks.verify(request, secrets, optionsFor(), nowS * 1000);
}

/** Runs a vector that has one secret, headers, a payload and a clock. */
function runVector(vector: Vector, outcome: Outcome, headers = vector.headers): void {
  expect(vector.expect).toBe(outcome === 'valid' ? 'valid' : 'invalid');
  const request = swRequest(headers ?? {}, vector.payload ?? '');
  const result = standardWebhooks.verify(
    request,
    [vector.secret ?? ''],
    optionsFor(vector),
    (vector.verify_now ?? 0) * 1000,
  );
  expectOutcome(result, outcome);
}

const outcome = (expected: Outcome) => (vector: Vector) => runVector(vector, expected);

/** One case per vector in standard-webhooks.json; the name says what Airlock does with it. */
const cases: VectorCases = {
  'SW-001': { run: outcome('valid') },
  'SW-002': { run: outcome('valid') },
  'SW-003': { run: outcome('valid') },
  'SW-004': { run: outcome('valid') },
  'SW-005': { run: outcome('valid') },
  'SW-006': { run: outcome('signature-invalid') },
  'SW-007': { run: outcome('signature-invalid') },
  'SW-010': { note: 'no webhook-id: signature-invalid', run: outcome('signature-invalid') },
  'SW-011': { note: 'no timestamp: signature-invalid', run: outcome('signature-invalid') },
  'SW-012': { note: 'no signature header: signature-missing', run: outcome('signature-missing') },
  'SW-013': { run: outcome('signature-invalid') },
  'SW-014': { run: outcome('signature-invalid') },
  'SW-015': { run: outcome('signature-invalid') },
  'SW-016': { note: 'unusable timestamp: signature-invalid', run: outcome('signature-invalid') },
  'SW-017': { run: outcome('timestamp-out-of-tolerance') },
  'SW-018': { run: outcome('valid') },
  'SW-019': { run: outcome('timestamp-out-of-tolerance') },
  'SW-020': { run: outcome('valid') },
  'SW-021': { run: outcome('signature-invalid') },
  'SW-022': { run: outcome('valid') },
  'SW-023': { run: outcome('signature-invalid') },
  'SW-024': {
    note: 'as sent and lower-cased by the edge',
    run: (vector) => {
      runVector(vector, 'valid');
      // The raw mixed-case names, bypassing the lower-casing the edge does.
      const request = { ...swRequest({}), headers: { ...vector.headers } };
      expectOutcome(verifyAt(request, [SECRET]), 'valid');
    },
  },
  'SW-025': {
    note: 'refused by checkSecret; verify never matches with them',
    run: (vector) => {
      const refused = vector.secrets_to_reject as string[];
      expect(refused.length).toBeGreaterThan(0);
      for (const secret of refused) {
        expect(checkSecret('standard-webhooks', secret)).not.toBeNull();
        // HMAC with an empty key: anyone could produce this signature.
        const forged = createHmac('sha256', Buffer.alloc(0))
          .update(`${MSG_ID}.${NOW_S}.${PAYLOAD}`)
          .digest('base64');
        expectOutcome(
          verifyAt(requestWithSignature(`v1,${forged}`), [secret]),
          'signature-invalid',
        );
      }
    },
  },
  'SW-026': { note: 'unpadded secret accepted', run: outcome('valid') },
  'SW-027': { note: 'unpadded secret accepted', run: outcome('valid') },
  'SW-028': {
    run: (vector) => {
      expect(Buffer.from(vector.payload ?? '', 'utf8').toString('hex')).toBe(
        vector.payload_utf8_hex,
      );
      runVector(vector, 'valid');
    },
  },
  'SW-029': { note: 'non-integer timestamp: signature-invalid', run: outcome('signature-invalid') },
  'SW-030': { note: 'negative timestamp: signature-invalid', run: outcome('signature-invalid') },
  'SW-031': {
    note: 'parse only',
    run: (vector) => {
      expect(vector.expect).toBe('parse_only');
      const parsed = parseSignatureHeader(vector.headers?.['webhook-signature'] ?? '');
      const expected = (vector.expect_parse as { version: string; signature_b64: string }[]).map(
        (entry) => ({ version: entry.version, signature: entry.signature_b64 }),
      );
      expect(parsed).toEqual(expected);
    },
  },
  'SW-032': {
    note: 'asymmetric v1a is not accepted: rejected by standard-webhooks (v1 only)',
    run: (vector) => {
      const request = swRequest(vector.headers ?? {}, vector.payload);
      for (const secret of [SECRET, vector.public_key as string, vector.secret_key as string]) {
        expectOutcome(verifyAt(request, [secret], vector.verify_now), 'signature-invalid');
      }
    },
  },
  'SW-033': {
    note: 'rotation: either secret, or both, accepted',
    run: (vector) => {
      const request = swRequest(vector.headers ?? {}, vector.payload);
      const rotationCases = vector.cases as { receiver_secrets: string[]; expect: string }[];
      expect(rotationCases.length).toBe(4);
      for (const { receiver_secrets, expect: verdict } of rotationCases) {
        const expected: Outcome = verdict === 'valid' ? 'valid' : 'signature-invalid';
        expectOutcome(verifyAt(request, receiver_secrets, vector.verify_now), expected);
      }
    },
  },
  'SW-034': {
    note: 'a webhook-id containing "." is rejected, the other reading of the pair is not',
    run: (vector) => {
      const pair = vector.pair as {
        msg_id: string;
        timestamp: number;
        payload: string;
        signature: string;
      }[];
      const [dotted, plain] = pair.map((entry) =>
        swRequest(
          {
            'webhook-id': entry.msg_id,
            'webhook-timestamp': String(entry.timestamp),
            'webhook-signature': entry.signature,
          },
          entry.payload,
        ),
      );
      if (!dotted || !plain) throw new Error('SW-034 needs a pair');
      const dottedResult = verifyAt(dotted, [SECRET]);
      expectOutcome(dottedResult, 'signature-invalid');
      expect(dottedResult.ok ? '' : dottedResult.detail).toContain('"."');
      expectOutcome(verifyAt(plain, [SECRET]), 'valid');
    },
  },
};

describe('standard-webhooks: every vector in standard-webhooks.json', () => {
  it('reads as many vectors as the file count says', () => {
    expect(vectors.length).toBe(standardWebhooksFile.count);
  });

  testEachVector(vectors, cases);
});

describe('standard-webhooks verify', () => {
  it('agrees with the official standardwebhooks library on a signature it makes', () => {
    const id = 'msg_official';
    const signature = new Webhook(SECRET).sign(id, new Date(NOW_S * 1000), PAYLOAD);
    expectOutcome(verifyAt(requestWithSignature(signature, { id }), [SECRET]), 'valid');
  });

  it('rejects a tampered body', () => {
    const request = signedRequest({ body: '{"amount":100}' });
    const tampered = { ...request, body: Buffer.from('{"amount":900}') };
    expectOutcome(verifyAt(request, [SECRET]), 'valid');
    expectOutcome(verifyAt(tampered, [SECRET]), 'signature-invalid');
  });

  it('rejects a wrong secret, and accepts when any configured secret matches', () => {
    const other = 'whsec_QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=';
    const request = signedRequest({});
    expectOutcome(verifyAt(request, [other]), 'signature-invalid');
    expectOutcome(verifyAt(request, [other, SECRET]), 'valid');
    expectOutcome(verifyAt(request, [SECRET, other]), 'valid');
  });

  it('rejects when no secret is configured', () => {
    expectOutcome(verifyAt(signedRequest({}), []), 'signature-invalid');
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
  ])('treats an %s signature header as missing', (_, value) => {
    expectOutcome(verifyAt(requestWithSignature(value), [SECRET]), 'signature-missing');
  });

  it.each([
    ['v1 with an empty signature', 'v1,'],
    ['a lone comma', ','],
    ['no comma at all', 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='],
    ['only unknown versions', 'v0,abc v1a,def'],
    ['non-ASCII of the right length', `v1,${'é'.repeat(44)}`],
    ['base64 with junk Node would skip', 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=!!!!'],
    ['a truncated signature', 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1O'],
  ])('rejects %s as signature-invalid without throwing', (_, value) => {
    expectOutcome(verifyAt(requestWithSignature(value), [SECRET]), 'signature-invalid');
  });

  it('accepts several signatures when one of them matches, in any position', () => {
    const good = sign(SECRET, MSG_ID, NOW_S, PAYLOAD);
    const decoy = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    for (const header of [`${good} ${decoy}`, `${decoy}  ${good}`, `v1a,xyz ${decoy} ${good}`]) {
      expectOutcome(verifyAt(requestWithSignature(header), [SECRET]), 'valid');
    }
  });

  it('reads signatures sent on two header lines, which HTTP joins with ", "', () => {
    const good = sign(SECRET, MSG_ID, NOW_S, PAYLOAD);
    const decoy = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
    for (const header of [`${good}, ${decoy}`, `${decoy}, ${good}`, `${good},${decoy}`]) {
      expectOutcome(verifyAt(requestWithSignature(header), [SECRET]), 'valid');
    }
    expect(parseSignatureHeader(`${good}, v1a,xyz`)).toEqual([
      { version: 'v1', signature: good.slice(3) },
      { version: 'v1a', signature: 'xyz' },
    ]);
  });

  it.each([
    [-60, 'valid'],
    [60, 'valid'],
    [-61, 'timestamp-out-of-tolerance'],
    [61, 'timestamp-out-of-tolerance'],
  ] as const)('with a 60 s tolerance, a timestamp %i s from now is %s', (offset, expected) => {
    const request = signedRequest({ seconds: NOW_S + offset });
    const result = standardWebhooks.verify(
      request,
      [SECRET],
      optionsFor(undefined, { toleranceSeconds: 60 }),
      NOW_S * 1000,
    );
    expectOutcome(result, expected);
  });

  it('reports a bad signature before a stale timestamp', () => {
    const request = signedRequest({
      seconds: NOW_S - 3600,
      secret: 'whsec_ERERERERERERERERERERERERERERERER',
    });
    expectOutcome(verifyAt(request, [SECRET]), 'signature-invalid');
  });

  it.each(['msg.1', '.', 'a.b.c'])('rejects the webhook-id %s even when correctly signed', (id) => {
    expectOutcome(verifyAt(signedRequest({ id }), [SECRET]), 'signature-invalid');
  });

  it('verifies an empty body and a multibyte UTF-8 body over their exact bytes', () => {
    expectOutcome(verifyAt(signedRequest({ body: '' }), [SECRET]), 'valid');
    const utf8 = signedRequest({ body: '{"name":"Zoë 😊","city":"Zürich"}' });
    expectOutcome(verifyAt(utf8, [SECRET]), 'valid');
    // The same text in Latin-1 bytes is a different body.
    const latin1 = { ...utf8, body: Buffer.from('{"name":"Zoë","city":"Zürich"}', 'latin1') };
    expectOutcome(verifyAt(latin1, [SECRET]), 'signature-invalid');
  });
});

describe('standard-webhooks identify', () => {
  const identify = (body: string, headers: Record<string, string> = {}) =>
    standardWebhooks.identify(
      swRequest({ 'webhook-id': MSG_ID, 'webhook-timestamp': String(NOW_S), ...headers }, body),
      optionsFor(),
    );

  it('takes id and dedup key from webhook-id, type, data.record and the payload timestamp', () => {
    const body = JSON.stringify({
      type: 'contact.updated',
      timestamp: '2022-11-03T20:26:10.344Z',
      data: { record: { type: 'contact', id: 42 }, type: 'ignored', id: 'ignored' },
    });
    expect(identify(body)).toEqual([
      {
        providerEventId: MSG_ID,
        dedupKey: MSG_ID,
        type: 'contact.updated',
        record: { type: 'contact', id: '42' },
        occurredAt: Date.UTC(2022, 10, 3, 20, 26, 10, 344),
        itemIndex: null,
      },
    ]);
  });

  it('falls back to data.type + data.id, and to the signed timestamp', () => {
    const [event] = identify(
      JSON.stringify({ type: 'invoice.paid', data: { type: 'invoice', id: 'in_1' } }),
    );
    expect(event?.record).toEqual({ type: 'invoice', id: 'in_1' });
    expect(event?.occurredAt).toBe(NOW_S * 1000);
  });

  it('has no record when data names none', () => {
    const [event] = identify(JSON.stringify({ type: 'ping', data: { id: 'x' } }));
    expect(event?.record).toBeNull();
  });

  it('accepts an empty body as an event without payload', () => {
    const [event] = identify('');
    expect(event).toMatchObject({
      dedupKey: MSG_ID,
      type: null,
      record: null,
      occurredAt: NOW_S * 1000,
    });
  });

  it('uses webhook-id verbatim as the dedup key', () => {
    // verify() refuses dotted ids; identify() does not re-judge them.
    const [event] = identify('{}', { 'webhook-id': 'msg_a.b' });
    expect(event?.dedupKey).toBe('msg_a.b');
  });

  it.each([
    ['not JSON', 'hello'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"event"'],
    ['a type that is not a string', '{"type":5}'],
    ['a timestamp that is not ISO-8601', '{"type":"a","timestamp":"yesterday"}'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
  ])('throws malformed-body for %s', (_, body) => {
    const request = makeRequest({ headers: { 'webhook-id': MSG_ID }, body });
    expectMalformed(() => standardWebhooks.identify(request, optionsFor()));
  });
});

// Keeps the helper honest: the vector file's own known-answer signature is what sign() makes.
it('test signer matches SW-001', () => {
  const vector = vectorById(vectors, 'SW-001');
  expect(sign(SECRET, MSG_ID, NOW_S, vector.payload ?? '')).toBe(vector.expected_signature);
});
