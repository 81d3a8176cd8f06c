import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { github } from './github.js';
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

const vectors = providerVectors('github');
const SECRET = "It's a Secret to Everybody";

function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function verify(headers: Record<string, string>, body: string, secrets = [SECRET]) {
  return github.verify(makeRequest({ headers, body }), secrets, optionsFor(), 0);
}

function verdict(expected: string, outcome: Outcome) {
  return (vector: Vector) => {
    expect(vector.expect).toBe(expected);
    expectOutcome(verify(vector.headers ?? {}, vector.body ?? '', [vector.secret ?? '']), outcome);
  };
}

const cases: VectorCases = {
  'GH-001': { run: verdict('valid', 'valid') },
  'GH-002': { run: verdict('invalid', 'signature-invalid') },
  'GH-003': { run: verdict('invalid', 'signature-invalid') },
  'GH-004': { run: verdict('invalid', 'signature-invalid') },
  'GH-005': {
    note: 'SHA-1 alone is not accepted: rejected by github as signature-missing',
    run: (vector) => {
      expect(vector.expect).toBe('legacy_only');
      expectOutcome(verify(vector.headers ?? {}, vector.body ?? ''), 'signature-missing');
      // A good SHA-1 does not rescue a bad SHA-256 either.
      const both = { ...vector.headers, 'X-Hub-Signature-256': `sha256=${'0'.repeat(64)}` };
      expectOutcome(verify(both, vector.body ?? ''), 'signature-invalid');
    },
  },
  'GH-006': {
    run: (vector) => {
      expect(Buffer.from(vector.body ?? '', 'utf8').toString('hex')).toBe(vector.body_utf8_hex);
      verdict('valid', 'valid')(vector);
    },
  },
  'GH-007': { run: verdict('invalid', 'signature-invalid') },
};

describe('github: every github vector in providers.json', () => {
  testEachVector(vectors, cases);
});

describe('github verify', () => {
  const body = '{"zen":"Design for failure.","hook_id":1}';

  it('rejects a wrong secret and accepts either secret during a rotation', () => {
    const headers = { 'x-hub-signature-256': sign('new secret', body) };
    expectOutcome(verify(headers, body, [SECRET]), 'signature-invalid');
    expectOutcome(verify(headers, body, [SECRET, 'new secret']), 'valid');
  });

  it('accepts upper-case hex and an empty body', () => {
    expectOutcome(
      verify(
        { 'x-hub-signature-256': sign(SECRET, body).toUpperCase().replace('SHA256=', 'sha256=') },
        body,
      ),
      'valid',
    );
    expectOutcome(verify({ 'x-hub-signature-256': sign(SECRET, '') }, ''), 'valid');
  });

  it.each([
    ['an empty header', '', 'signature-missing'],
    ['an empty digest', 'sha256=', 'signature-invalid'],
    ['an upper-case prefix', sign(SECRET, body).replace('sha256=', 'SHA256='), 'signature-invalid'],
    [
      'a sha1= prefix on a SHA-256 digest',
      sign(SECRET, body).replace('sha256=', 'sha1='),
      'signature-invalid',
    ],
    [
      'two digests joined as a repeated header',
      `${sign(SECRET, body)}, ${sign(SECRET, body)}`,
      'signature-invalid',
    ],
  ] as const)('rejects %s', (_, value, expected) => {
    expectOutcome(verify({ 'x-hub-signature-256': value }, body), expected);
  });
});

describe('github identify', () => {
  const identify = (body: string, headers: Record<string, string>) =>
    github.identify(makeRequest({ body, headers }), optionsFor());
  const delivery = '72d3162e-cc78-11e3-81ab-4c9367dc0958';

  it('reads GH-006: delivery id, event.action, no record without a repository', () => {
    const vector = vectorById(vectors, 'GH-006');
    expect(identify(vector.body ?? '', vector.headers ?? {})).toEqual([
      {
        providerEventId: delivery,
        dedupKey: delivery,
        type: 'issues.opened',
        record: null,
        occurredAt: null,
        itemIndex: null,
      },
    ]);
  });

  it.each([
    [
      'issues',
      { action: 'opened', issue: { number: 12 } },
      'issues.opened',
      { type: 'issue', id: 'octo/repo#12' },
    ],
    [
      'pull_request',
      { action: 'closed', pull_request: { number: 7 } },
      'pull_request.closed',
      { type: 'pull_request', id: 'octo/repo#7' },
    ],
    ['push', { ref: 'refs/heads/main' }, 'push', null],
  ])('reads a %s event', (event, fields, type, record) => {
    const body = JSON.stringify({ ...fields, repository: { full_name: 'octo/repo' } });
    const [identity] = identify(body, { 'x-github-delivery': delivery, 'x-github-event': event });
    expect(identity).toMatchObject({ type, record });
  });

  it('has no type without an x-github-event header', () => {
    const [identity] = identify('{"action":"opened"}', { 'x-github-delivery': delivery });
    expect(identity?.type).toBeNull();
  });

  it.each([
    ['no delivery header', '{}', {}],
    ['a form-encoded body', 'payload=%7B%7D', { 'x-github-delivery': delivery }],
    ['an array', '[]', { 'x-github-delivery': delivery }],
  ])('throws malformed-body for %s', (_, body, headers) => {
    expectMalformed(() => identify(body, headers));
  });
});
