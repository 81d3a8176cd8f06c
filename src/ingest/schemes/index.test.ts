import { describe, expect, it } from 'vitest';
import { checkSchemeOptions, checkSecret, DEFAULT_TOLERANCE_SECONDS, schemes } from './index.js';
import type { SchemeName } from './scheme.js';
import { providersFile } from './test-vectors.js';

const NAMES: SchemeName[] = [
  'standard-webhooks',
  'hubspot-v3',
  'zendesk',
  'stripe',
  'github',
  'hmac-sha256',
  'intercom',
  'basic-auth',
  'header-token',
  'salesforce-outbound',
];

describe('schemes', () => {
  it('has every scheme under its own name', () => {
    expect(Object.keys(schemes).sort()).toEqual([...NAMES].sort());
    for (const name of NAMES) expect(schemes[name].name).toBe(name);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(schemes)).toBe(true);
  });
});

describe('vector coverage', () => {
  // Each provider's vectors run in the test file of the scheme Airlock uses for it.
  const testedIn: Record<string, string> = {
    github: 'github.test.ts',
    hubspot: 'hubspot-v3.test.ts',
    zendesk: 'zendesk.test.ts',
    stripe: 'stripe.test.ts',
    intercom: 'intercom.test.ts',
    freshdesk: 'basic-auth.test.ts (FD-003: header-token.test.ts)',
    pipedrive: 'basic-auth.test.ts',
    salesforce: 'salesforce-outbound.test.ts',
  };

  it('knows every provider in providers.json and the counts add up', () => {
    const providers = providersFile.providers;
    expect(Object.keys(providers).sort()).toEqual(Object.keys(testedIn).sort());
    let total = 0;
    for (const [name, entry] of Object.entries(providers)) {
      expect(entry.vectors.length, name).toBe(providersFile.counts[name]);
      total += entry.vectors.length;
    }
    expect(total).toBe(providersFile.total_vectors);
  });
});

describe('checkSecret', () => {
  it.each([
    ['standard-webhooks', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', null],
    ['standard-webhooks', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS', null],
    ['standard-webhooks', '', 'is empty'],
    ['standard-webhooks', 'whsec_', 'is not a base64 key (whsec_<base64>)'],
    ['standard-webhooks', 'whsec_not base64!', 'is not a base64 key (whsec_<base64>)'],
    ['stripe', 'whsec_test_secret', null],
    ['stripe', 'whsec_test_secret\n', 'has leading or trailing whitespace'],
    ['zendesk', ' secret', 'has leading or trailing whitespace'],
    ['hmac-sha256', '', 'is empty'],
    ['intercom', 'intercom_test_client_secret', null],
    ['basic-auth', 'pd:a:b:c', null],
    ['basic-auth', 'password-only', 'is not user:password'],
    ['header-token', 'a3f1c9e07b5d4e28', null],
    ['salesforce-outbound', '00D5g000004Cf2PEAS', null],
    ['salesforce-outbound', '00D5g000004Cf2PEAT', 'is not a 15- or 18-character Salesforce org id'],
  ] as const)('%s %j → %s', (scheme, secret, problem) => {
    expect(checkSecret(scheme, secret)).toBe(problem);
  });
});

describe('checkSchemeOptions', () => {
  const base = { toleranceSeconds: DEFAULT_TOLERANCE_SECONDS };

  it.each([
    ['stripe', base, null],
    ['stripe', { toleranceSeconds: -1 }, /non-negative/],
    ['stripe', { toleranceSeconds: Number.NaN }, /non-negative/],
    ['hmac-sha256', base, /signatureHeader/],
    ['hmac-sha256', { ...base, signatureHeader: 'x-signature' }, null],
    ['hmac-sha256', { ...base, signatureHeader: 'x-signature', signaturePrefix: 'sha256=' }, null],
    [
      'hmac-sha256',
      { ...base, signatureHeader: 'x-hub-signature', signaturePrefix: 'sha1=' },
      /another algorithm/,
    ],
    [
      'hmac-sha256',
      { ...base, signatureHeader: 'x-signature', signaturePrefix: 'sha512=' },
      /another algorithm/,
    ],
    ['header-token', base, /header-token scheme needs signatureHeader/],
    ['header-token', { ...base, signatureHeader: 'x-gateway-token' }, null],
    ['basic-auth', base, null],
    ['salesforce-outbound', base, null],
  ] as const)('%s %j', (scheme, options, problem) => {
    const result = checkSchemeOptions(scheme, options);
    if (problem === null) expect(result).toBeNull();
    else expect(result).toMatch(problem);
  });
});
