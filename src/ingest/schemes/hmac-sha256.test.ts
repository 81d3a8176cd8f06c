import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSchemeOptions } from './check-config.js';
import { hmacSha256 } from './hmac-sha256.js';
import type { SchemeOptions } from './scheme.js';
import {
  expectOutcome,
  makeRequest,
  type Outcome,
  optionsFor,
  providerVectors,
  testEachVector,
  type Vector,
  type VectorCase,
} from './test-vectors.js';

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

// The closest hmac-sha256 configuration for each provider that is not a plain HMAC-SHA256 of
// the body. None of them can be verified this way; these tests pin that they are refused.
const INTERCOM: Partial<SchemeOptions> = {
  signatureHeader: 'x-hub-signature',
  encoding: 'hex',
  signaturePrefix: 'sha256=',
};
const BASIC_AUTH: Partial<SchemeOptions> = { signatureHeader: 'authorization' };
const GATEWAY_TOKEN: Partial<SchemeOptions> = { signatureHeader: 'x-gateway-token' };
const SALESFORCE: Partial<SchemeOptions> = { signatureHeader: 'x-salesforce-signature' };

/** A minimal Salesforce Outbound Messaging notification: unsigned SOAP naming the org. */
function soapNotification(orgId: string): string {
  return [
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>',
    '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">',
    `<OrganizationId>${orgId}</OrganizationId>`,
    '</notifications></soapenv:Body></soapenv:Envelope>',
  ].join('');
}

/** The `Name: value` header line of a parse-only vector. */
function headerLine(line: string): Record<string, string> {
  const colon = line.indexOf(':');
  return { [line.slice(0, colon)]: line.slice(colon + 1).trim() };
}

/** An Intercom vector verified with its secret, under the Intercom configuration or `options`. */
function verifyIntercom(vector: Vector, options = INTERCOM) {
  return verify(options, vector.headers ?? {}, vector.body ?? '', [vector.secret ?? '']);
}

/** A Basic-auth vector (no body) verified with its `username:password` as the secret. */
function verifyBasicAuth(vector: Vector) {
  return verify(BASIC_AUTH, vector.headers ?? {}, '', [`${vector.username}:${vector.password}`]);
}

/** Runs a Basic-auth vector whose `expect` is `expected`, asserting `outcome`. */
function basicAuthVerdict(expected: string, outcome: Outcome) {
  return (vector: Vector) => {
    expect(vector.expect).toBe(expected);
    expectOutcome(verifyBasicAuth(vector), outcome);
  };
}

const PIPEDRIVE_NOTE = 'Pipedrive Basic auth: not supported, rejected by hmac-sha256';

const cases: Record<string, Required<VectorCase>> = {
  'IC-001': {
    note: 'Intercom signs with HMAC-SHA1: not supported, rejected by hmac-sha256',
    run: (vector) => {
      expect(vector.expect).toBe('parse_only');
      expectOutcome(verify(INTERCOM, headerLine(vector.header ?? ''), '{}'), 'signature-invalid');
    },
  },
  'IC-002': {
    note: 'valid for Intercom, but HMAC-SHA1: rejected by hmac-sha256, even with a sha1= prefix',
    run: (vector) => {
      expect(vector.expect).toBe('valid');
      expectOutcome(verifyIntercom(vector), 'signature-invalid');
      const sha1Prefix = { ...INTERCOM, signaturePrefix: 'sha1=' };
      expectOutcome(verifyIntercom(vector, sha1Prefix), 'signature-invalid');
    },
  },
  'IC-003': {
    note: 'Intercom, tampered: rejected by hmac-sha256',
    run: (vector) => {
      expect(vector.expect).toBe('invalid');
      expectOutcome(verifyIntercom(vector), 'signature-invalid');
    },
  },
  'IC-004': {
    note: 'SHA-256 in the sha1= slot: rejected; checkSchemeOptions refuses a sha1= prefix',
    run: (vector) => {
      expect(vector.expect).toBe('invalid');
      expectOutcome(verifyIntercom(vector), 'signature-invalid');
      const confused = optionsFor(undefined, { ...INTERCOM, signaturePrefix: 'sha1=' });
      expect(checkSchemeOptions('hmac-sha256', confused)).toMatch(/another algorithm/);
    },
  },
  'FD-001': {
    note: 'Freshdesk Basic auth: not supported, rejected by hmac-sha256',
    run: (vector) => {
      expect(vector.expect).toBe('valid');
      const secret = `${vector.username}:${vector.password}`;
      expectOutcome(
        verify(BASIC_AUTH, vector.headers ?? {}, '', [secret, vector.password as string]),
        'signature-invalid',
      );
    },
  },
  'FD-002': {
    note: 'Freshdesk Basic auth, wrong password: rejected by hmac-sha256',
    run: basicAuthVerdict('invalid', 'signature-invalid'),
  },
  'FD-003': {
    note: 'Freshdesk shared token header: not an HMAC, rejected by hmac-sha256',
    run: (vector) => {
      expect(vector.expect).toBe('valid');
      const token = vector.configured_token as string;
      expectOutcome(verify(GATEWAY_TOKEN, vector.headers ?? {}, '', [token]), 'signature-invalid');
      expectOutcome(
        verify(GATEWAY_TOKEN, vector.headers ?? {}, '{"ticket_id":1}', [token]),
        'signature-invalid',
      );
    },
  },
  'PD-001': { note: PIPEDRIVE_NOTE, run: basicAuthVerdict('valid', 'signature-invalid') },
  'PD-002': { note: PIPEDRIVE_NOTE, run: basicAuthVerdict('valid', 'signature-invalid') },
  'PD-003': {
    note: PIPEDRIVE_NOTE,
    run: (vector) => {
      expect(vector.expect).toMatch(/^valid/);
      expectOutcome(verifyBasicAuth(vector), 'signature-invalid');
    },
  },
  'PD-004': {
    note: 'no Authorization header: signature-missing',
    run: basicAuthVerdict('invalid', 'signature-missing'),
  },
  'SF-001': {
    note: 'Salesforce Outbound Messaging is unsigned SOAP: not supported, rejected by hmac-sha256',
    run: (vector) => {
      expect(vector.expect).toBe('ack');
      expect(vector.response_body).toContain('<Ack>true</Ack>');
      const body = soapNotification('00D5g000004Cf2PEAS');
      expectOutcome(verify(SALESFORCE, { 'content-type': 'text/xml' }, body), 'signature-missing');
    },
  },
  'SF-002': {
    note: 'org-id allow-list is not a signature: every notification rejected by hmac-sha256',
    run: (vector) => {
      expect(vector.expect).toBe('policy');
      const incoming = Object.keys(vector.incoming_org_ids as Record<string, string>);
      expect(incoming).toHaveLength(3);
      for (const orgId of incoming) {
        expectOutcome(
          verify(SALESFORCE, {}, soapNotification(orgId), [vector.configured_org_id_18 as string]),
          'signature-missing',
        );
      }
    },
  },
};

describe('hmac-sha256: providers without a plain HMAC-SHA256 of the body', () => {
  const vectors = ['intercom', 'freshdesk', 'pipedrive', 'salesforce'].flatMap(providerVectors);

  testEachVector(vectors, cases);
});

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
