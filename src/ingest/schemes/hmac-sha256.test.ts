import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256 } from './hmac-sha256.js';
import type { SchemeOptions } from './scheme.js';
import { expectOutcome, makeRequest, optionsFor } from './test-vectors.js';

const SECRET = 'shared-secret';
const BODY = '{"type":"order.paid","record":{"type":"order","id":1042}}';

function digest(secret: string, body: string, encoding: 'hex' | 'base64' = 'hex'): string {
  return createHmac('sha256', secret).update(body).digest(encoding);
}

function verify(
  options: Partial<SchemeOptions>,
  headers: Record<string, string>,
  body: string,
  secrets = [SECRET],
) {
  return hmacSha256.verify(
    makeRequest({ headers, body }),
    secrets,
    optionsFor(undefined, options),
    0,
  );
}

describe('hmac-sha256 verify', () => {
  const HEX = { signatureHeader: 'x-signature' };
  const BASE64 = { signatureHeader: 'X-Signature-B64', encoding: 'base64' } as const;
  const PREFIXED = { signatureHeader: 'x-hub-signature-256', signaturePrefix: 'sha256=' };

  it.each([
    ['hex, no prefix', HEX, { 'x-signature': digest(SECRET, BODY) }],
    [
      'base64, header name in any case',
      BASE64,
      { 'x-signature-b64': digest(SECRET, BODY, 'base64') },
    ],
    [
      'hex with a sha256= prefix',
      PREFIXED,
      { 'x-hub-signature-256': `sha256=${digest(SECRET, BODY)}` },
    ],
  ])('accepts %s', (_, options, headers) => {
    expectOutcome(verify(options, headers, BODY), 'valid');
  });

  it('rejects a tampered body and a wrong secret; accepts either secret in a rotation', () => {
    const headers = { 'x-signature': digest('new-secret', BODY) };
    expectOutcome(
      verify(HEX, headers, BODY.replace('1042', '1043'), ['new-secret']),
      'signature-invalid',
    );
    expectOutcome(verify(HEX, headers, BODY, [SECRET]), 'signature-invalid');
    expectOutcome(verify(HEX, headers, BODY, [SECRET, 'new-secret']), 'valid');
  });

  it('never matches an empty secret', () => {
    const headers = { 'x-signature': digest('', BODY) };
    expectOutcome(verify(HEX, headers, BODY, ['']), 'signature-invalid');
  });

  it('verifies an empty body and a multibyte UTF-8 body over their bytes', () => {
    for (const body of ['', '{"name":"Zoë 😊","city":"Zürich"}']) {
      expectOutcome(verify(HEX, { 'x-signature': digest(SECRET, body) }, body), 'valid');
    }
  });

  it.each([
    ['no configured header', {}, { 'x-signature': digest(SECRET, BODY) }, 'signature-missing'],
    ['no header', HEX, {}, 'signature-missing'],
    ['an empty header', HEX, { 'x-signature': '' }, 'signature-missing'],
    [
      'a missing prefix',
      PREFIXED,
      { 'x-hub-signature-256': digest(SECRET, BODY) },
      'signature-invalid',
    ],
    [
      'another prefix of the same length',
      PREFIXED,
      { 'x-hub-signature-256': `sha512=${digest(SECRET, BODY)}` },
      'signature-invalid',
    ],
    [
      'a prefix with an empty digest',
      PREFIXED,
      { 'x-hub-signature-256': 'sha256=' },
      'signature-invalid',
    ],
    [
      'a truncated digest',
      HEX,
      { 'x-signature': digest(SECRET, BODY).slice(0, 63) },
      'signature-invalid',
    ],
    [
      'base64 where hex is configured',
      HEX,
      { 'x-signature': digest(SECRET, BODY, 'base64') },
      'signature-invalid',
    ],
    [
      'hex where base64 is configured',
      BASE64,
      { 'x-signature-b64': digest(SECRET, BODY) },
      'signature-invalid',
    ],
    ['non-ASCII of the right length', HEX, { 'x-signature': 'é'.repeat(64) }, 'signature-invalid'],
  ] as const)('rejects %s', (_, options, headers, expected) => {
    expectOutcome(verify(options, headers, BODY), expected);
  });
});

describe('hmac-sha256 identify', () => {
  const identify = (
    body: string | Buffer,
    options: Partial<SchemeOptions> = {},
    headers: Record<string, string> = {},
  ) =>
    hmacSha256.identify(
      makeRequest({ body, headers }),
      optionsFor(undefined, { signatureHeader: 'x-signature', ...options }),
    );
  const hash = (body: string | Buffer) => createHash('sha256').update(body).digest('hex');

  it('takes the id from the configured event id header, type and record from the payload', () => {
    expect(identify(BODY, { eventIdHeader: 'X-Event-Id' }, { 'x-event-id': 'evt.42' })).toEqual([
      {
        providerEventId: 'evt.42',
        dedupKey: 'evt.42',
        type: 'order.paid',
        record: { type: 'order', id: '1042' },
        occurredAt: null,
        itemIndex: null,
      },
    ]);
  });

  it('falls back to the content hash when the id header is not configured or absent', () => {
    expect(identify(BODY)[0]?.dedupKey).toBe(hash(BODY));
    expect(identify(BODY, { eventIdHeader: 'x-event-id' })[0]?.dedupKey).toBe(hash(BODY));
  });

  it.each([
    ['plain text', 'hello'],
    ['an empty body', ''],
    ['a JSON array', '[1,2]'],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
    ['JSON with odd fields', '{"type":5,"record":{"type":"order"}}'],
  ])('accepts %s without type or record', (_, body) => {
    expect(identify(body)).toEqual([
      {
        providerEventId: hash(body),
        dedupKey: hash(body),
        type: null,
        record: null,
        occurredAt: null,
        itemIndex: null,
      },
    ]);
  });
});
