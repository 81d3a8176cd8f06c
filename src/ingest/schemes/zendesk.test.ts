import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
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
import { zendesk } from './zendesk.js';

const vectors = providerVectors('zendesk');
const SECRET = 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==';
const TIMESTAMP = '2026-01-15T10:00:00Z';
const NOW_MS = Date.parse(TIMESTAMP);
const TICKET_EVENT = 'zen:event-type:ticket.status_changed';

function sign(secret: string, timestamp: string, body: string): string {
  return createHmac('sha256', secret)
    .update(timestamp + body)
    .digest('base64');
}

function zendeskRequest(
  signature: string | undefined,
  timestamp: string | undefined,
  body: string,
) {
  const headers: Record<string, string> = {};
  if (signature !== undefined) headers['X-Zendesk-Webhook-Signature'] = signature;
  if (timestamp !== undefined) headers['X-Zendesk-Webhook-Signature-Timestamp'] = timestamp;
  return makeRequest({ headers, body });
}

function verifyAt(request: ReturnType<typeof makeRequest>, secrets: string[], nowMs = NOW_MS) {
  return zendesk.verify(request, secrets, optionsFor(), nowMs);
}

/** The vectors carry no clock; they are verified at their own signature timestamp. */
function runVector(vector: Vector, outcome: Outcome): void {
  const request = makeRequest({ headers: vector.headers ?? {}, body: vector.body ?? '' });
  const now = Date.parse(String(vector.timestamp));
  expectOutcome(verifyAt(request, [vector.secret ?? ''], now), outcome);
}

const cases: VectorCases = {
  'ZD-001': {
    note: 'documented TIMESTAMP+BODY accepted; the docs example (BODY+TIMESTAMP) rejected',
    run: (vector) => {
      expect(vector.expect).toBe('needs_live_confirmation');
      const computed = vector.computed_here as Record<string, string>;
      const timestamp = String(vector.timestamp);
      const request = (signature: string) =>
        zendeskRequest(signature, timestamp, vector.body ?? '');
      const now = Date.parse(timestamp);
      const documentedOrder = computed['hmac(secret, TIMESTAMP+BODY)'] ?? '';
      expectOutcome(verifyAt(request(documentedOrder), [vector.secret ?? ''], now), 'valid');
      const exampleSignature = vector.documented_signature as string;
      expectOutcome(
        verifyAt(request(exampleSignature), [vector.secret ?? ''], now),
        'signature-invalid',
      );
    },
  },
  'ZD-002': { run: (vector) => runVector(vector, 'valid') },
  'ZD-003': { note: 'empty body', run: (vector) => runVector(vector, 'valid') },
  'ZD-004': {
    note: 'the secret is used as UTF-8, not base64-decoded',
    run: (vector) => {
      expect(vector.expect).toMatch(/^invalid/);
      const timestamp = String(vector.timestamp);
      const request = zendeskRequest(
        vector.wrong_signature as string,
        timestamp,
        vector.body ?? '',
      );
      expectOutcome(verifyAt(request, [vector.secret ?? '']), 'signature-invalid');
      const right = zendeskRequest(
        sign(SECRET, timestamp, vector.body ?? ''),
        timestamp,
        vector.body ?? '',
      );
      expectOutcome(verifyAt(right, [vector.secret ?? '']), 'valid');
    },
  },
};

describe('zendesk: every zendesk vector in providers.json', () => {
  testEachVector(vectors, cases);
});

describe('zendesk verify', () => {
  const body = vectorById(vectors, 'ZD-002').body ?? '';

  it.each([
    [-300, 'valid'],
    [300, 'valid'],
    [-301, 'timestamp-out-of-tolerance'],
    [301, 'timestamp-out-of-tolerance'],
  ] as const)('a timestamp %i s from now is %s', (offset, expected) => {
    const timestamp = new Date(NOW_MS + offset * 1000).toISOString();
    const request = zendeskRequest(sign(SECRET, timestamp, body), timestamp, body);
    expectOutcome(verifyAt(request, [SECRET]), expected);
  });

  it('rejects a tampered body and a wrong secret; accepts either secret in a rotation', () => {
    const request = zendeskRequest(sign(SECRET, TIMESTAMP, body), TIMESTAMP, body);
    expectOutcome(
      verifyAt({ ...request, body: Buffer.from(body.replace('OPEN', 'SOLVED')) }, [SECRET]),
      'signature-invalid',
    );
    expectOutcome(verifyAt(request, ['another-secret']), 'signature-invalid');
    expectOutcome(verifyAt(request, ['another-secret', SECRET]), 'valid');
  });

  it('signs the timestamp as sent: a re-formatted one does not match', () => {
    const request = zendeskRequest(sign(SECRET, TIMESTAMP, body), '2026-01-15T10:00:00.000Z', body);
    expectOutcome(verifyAt(request, [SECRET]), 'signature-invalid');
  });

  it('verifies a multibyte UTF-8 body over its bytes', () => {
    const utf8 = '{"id":"e1","detail":{"subject":"Imprimante en feu 🔥 — très urgent"}}';
    expectOutcome(
      verifyAt(zendeskRequest(sign(SECRET, TIMESTAMP, utf8), TIMESTAMP, utf8), [SECRET]),
      'valid',
    );
  });

  it.each([
    ['no signature', undefined, TIMESTAMP, 'signature-missing'],
    ['an empty signature', '', TIMESTAMP, 'signature-missing'],
    [
      'no timestamp',
      'u1qfVyQgJ3anvmeH3Cv+6ATVlVBGKtOT4JbOvpNKvVg=',
      undefined,
      'signature-invalid',
    ],
    [
      'a timestamp in epoch seconds',
      'u1qfVyQgJ3anvmeH3Cv+6ATVlVBGKtOT4JbOvpNKvVg=',
      '1768471200',
      'signature-invalid',
    ],
    ['a truncated signature', 'u1qfVyQgJ3anvmeH3Cv+6ATV', TIMESTAMP, 'signature-invalid'],
    [
      'a hex signature',
      Buffer.from('u1qfVyQgJ3anvmeH3Cv+6ATVlVBGKtOT4JbOvpNKvVg=', 'base64').toString('hex'),
      TIMESTAMP,
      'signature-invalid',
    ],
  ] as const)('rejects %s', (_, signature, timestamp, expected) => {
    expectOutcome(verifyAt(zendeskRequest(signature, timestamp, body), [SECRET]), expected);
  });
});

describe('zendesk identify', () => {
  const identify = (body: string) => zendesk.identify(makeRequest({ body }), optionsFor());

  it('reads an event webhook (ZD-002): id, type, subject, time', () => {
    expect(identify(vectorById(vectors, 'ZD-002').body ?? '')).toEqual([
      {
        providerEventId: '01HQX5YJ4QKX7Z2S4B9G5N6M7P',
        dedupKey: '01HQX5YJ4QKX7Z2S4B9G5N6M7P',
        type: 'zen:event-type:ticket.status_changed',
        record: { type: 'ticket', id: '35436' },
        occurredAt: Date.parse('2026-01-15T09:59:58Z'),
        itemIndex: null,
      },
    ]);
  });

  it('takes a user event subject as a user record', () => {
    const [event] = identify(
      '{"id":"e2","type":"zen:event-type:user.active_changed","subject":"zen:user:1800000001"}',
    );
    expect(event?.record).toEqual({ type: 'user', id: '1800000001' });
  });

  it.each([
    ['ticket.id', { ticket: { id: 35436, status: 'open' } }],
    ['ticket_id', { ticket_id: '35436', updated_at: '2026-01-15T09:59:58Z' }],
  ])('falls back to a content hash for a trigger body with %s', (_, payload) => {
    const body = JSON.stringify(payload);
    const hash = createHash('sha256').update(body).digest('hex');
    expect(identify(body)).toEqual([
      {
        providerEventId: hash,
        dedupKey: hash,
        type: null,
        record: { type: 'ticket', id: '35436' },
        occurredAt: null,
        itemIndex: null,
      },
    ]);
  });

  it('hashes a trigger body with its own "id" instead of taking it as the event id', () => {
    const body = '{"id":35436,"status":"open","ticket":{"id":35436}}';
    const [event] = identify(body);
    expect(event?.dedupKey).toBe(createHash('sha256').update(body).digest('hex'));
    expect(event?.record).toEqual({ type: 'ticket', id: '35436' });
  });

  it('gives different trigger bodies different keys and identical ones the same', () => {
    const [a] = identify('{"ticket_id":1,"updated":"1"}');
    const [b] = identify('{"ticket_id":1,"updated":"2"}');
    const [c] = identify('{"ticket_id":1,"updated":"1"}');
    expect(a?.dedupKey).not.toBe(b?.dedupKey);
    expect(a?.dedupKey).toBe(c?.dedupKey);
  });

  it.each([
    ['an empty body (nothing identifies the event)', ''],
    ['not JSON', 'ticket=1'],
    ['an array', '[{"id":"e1"}]'],
    ['an event id that is an object', `{"id":{"value":"e1"},"type":"${TICKET_EVENT}"}`],
    ['an event time that is not ISO-8601', `{"id":"e1","type":"${TICKET_EVENT}","time":"today"}`],
    ['an event subject that is not a string', `{"id":"e1","type":"${TICKET_EVENT}","subject":1}`],
  ])('throws malformed-body for %s', (_, body) => {
    expectMalformed(() => identify(body));
  });
});
