import { describe, expect, it } from 'vitest';
import { checkSecret } from './check-config.js';
import { salesforceId15, salesforceOutbound } from './salesforce-outbound.js';
import {
  expectMalformed,
  expectOutcome,
  makeRequest,
  optionsFor,
  providerVectors,
  testEachVector,
  type VectorCases,
} from './test-vectors.js';

const ORG_18 = '00D5g000004Cf2PEAS';

/** An Outbound Messaging request as Salesforce sends it, one Notification per account. */
function soapNotification(orgId: string, accounts: readonly [string, string][]): string {
  const notifications = accounts.map(
    ([notificationId, accountId]) =>
      `<Notification><Id>${notificationId}</Id>` +
      '<sObject xsi:type="sf:Account" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">' +
      `<sf:Id>${accountId}</sf:Id><sf:Name>Acme &amp; Co</sf:Name></sObject></Notification>`,
  );
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"',
    ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"',
    ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    '<soapenv:Body>',
    '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">',
    `<OrganizationId>${orgId}</OrganizationId>`,
    '<ActionId>04k5g000000XyZaAAK</ActionId>',
    '<SessionId xsi:nil="true"/>',
    '<EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/60.0/00D5g000004Cf2P</EnterpriseUrl>',
    ...notifications,
    '</notifications></soapenv:Body></soapenv:Envelope>',
  ].join('\n');
}

const ONE = soapNotification(ORG_18, [['04l5g00000Ab1cdAAB', '0015g00000Qx7yzAAA']]);

function verify(body: string, secrets: readonly string[] = [ORG_18]) {
  return salesforceOutbound.verify(makeRequest({ body }), secrets, optionsFor(), 0);
}

const identify = (body: string) => salesforceOutbound.identify(makeRequest({ body }), optionsFor());

const cases: VectorCases = {
  'SF-001': {
    note: 'acknowledge() is exactly the vector body, as text/xml',
    run: (vector) => {
      expect(vector.expect).toBe('ack');
      const ack = salesforceOutbound.acknowledge?.();
      expect(ack?.body).toBe(vector.response_body);
      expect(ack?.contentType).toMatch(/^text\/xml\b/);
    },
  },
  'SF-002': {
    note: 'the 18- and 15-character forms both accepted, whichever is configured; another org not',
    run: (vector) => {
      expect(vector.expect).toBe('policy');
      const configured18 = vector.configured_org_id_18 as string;
      const configured15 = configured18.slice(0, 15);
      const incoming = vector.incoming_org_ids as Record<string, string>;
      expect(Object.keys(incoming)).toHaveLength(3);
      for (const [orgId, verdict] of Object.entries(incoming)) {
        const outcome = verdict.startsWith('accept') ? 'valid' : 'signature-invalid';
        for (const configured of [configured18, configured15]) {
          expectOutcome(verify(soapNotification(orgId, [['04l1', '0011']]), [configured]), outcome);
        }
      }
    },
  },
};

describe('salesforce-outbound vectors', () => {
  testEachVector(providerVectors('salesforce'), cases);
});

describe('salesforceId15', () => {
  it.each([
    [ORG_18, '00D5g000004Cf2P'],
    ['00D5g000004Cf2P', '00D5g000004Cf2P'],
    ['00D5g000004Cf2PEAT', null], // wrong checksum
    ['00d5g000004cf2peas', null], // case folded: checksum no longer fits
    ['00D5g000004Cf2PE', null],
    ['00D5g000004Cf2-', null],
    ['', null],
  ])('%s → %s', (id, expected) => {
    expect(salesforceId15(id)).toBe(expected);
  });

  it('is case-sensitive on the 15-character form', () => {
    expectOutcome(
      verify(soapNotification('00d5g000004Cf2P', [['04l1', '0011']])),
      'signature-invalid',
    );
  });
});

describe('salesforce-outbound verify', () => {
  it('accepts the configured org among several', () => {
    expectOutcome(verify(ONE, ['00D000000000001', ORG_18]), 'valid');
  });

  it.each([
    [
      'no OrganizationId',
      ONE.replace(/<OrganizationId>.*<\/OrganizationId>/, ''),
      'signature-missing',
    ],
    ['a blank OrganizationId', soapNotification(' ', [['04l1', '0011']]), 'signature-missing'],
    [
      'an OrganizationId that is no id',
      soapNotification('00D5g000004Cf2PXXX', []),
      'signature-invalid',
    ],
    ['a JSON body', `{"OrganizationId":"${ORG_18}"}`, 'signature-invalid'],
    [
      'no SOAP envelope',
      `<notifications><OrganizationId>${ORG_18}</OrganizationId></notifications>`,
      'signature-invalid',
    ],
    ['mismatched tags', ONE.replace('</soapenv:Body>', '</soapenv:Bdy>'), 'signature-invalid'],
    ['an empty body', '', 'signature-invalid'],
  ] as const)('rejects %s', (_, body, outcome) => {
    expectOutcome(verify(body), outcome);
  });

  it('refuses a DOCTYPE, so no entity is ever expanded', () => {
    const withEntity = ONE.replace(
      '<soapenv:Envelope',
      `<!DOCTYPE x [<!ENTITY org "${ORG_18}">]><soapenv:Envelope`,
    ).replace(ORG_18, '&org;');
    expectOutcome(verify(withEntity), 'signature-invalid');
    expectOutcome(verify(ONE.replace(ORG_18, '&org;')), 'signature-invalid');
  });

  it('reads character references and CDATA in the org id', () => {
    expectOutcome(verify(ONE.replace(ORG_18, `&#x30;${ORG_18.slice(1)}`)), 'valid');
    expectOutcome(verify(ONE.replace(ORG_18, `<![CDATA[${ORG_18}]]>`)), 'valid');
  });

  it('does not hang on a long run of spaces inside a tag', () => {
    const started = Date.now();
    expectOutcome(verify(`<soapenv:Envelope${' '.repeat(200_000)}x`), 'signature-invalid');
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('salesforce-outbound identify', () => {
  it('gives one event per Notification, keyed on its Id, with the sObject as record', () => {
    const body = soapNotification(ORG_18, [
      ['04l5g00000Ab1cdAAB', '0015g00000Qx7yzAAA'],
      ['04l5g00000Ab1ceAAB', '0015g00000Qx800AAA'],
    ]);
    expect(identify(body)).toEqual([
      {
        providerEventId: '04l5g00000Ab1cdAAB',
        dedupKey: '04l5g00000Ab1cdAAB',
        type: null,
        record: { type: 'Account', id: '0015g00000Qx7yzAAA' },
        occurredAt: null,
        itemIndex: 0,
      },
      {
        providerEventId: '04l5g00000Ab1ceAAB',
        dedupKey: '04l5g00000Ab1ceAAB',
        type: null,
        record: { type: 'Account', id: '0015g00000Qx800AAA' },
        occurredAt: null,
        itemIndex: 1,
      },
    ]);
  });

  it('has no record when the sObject has no Id', () => {
    const body = ONE.replace(/<sf:Id>.*?<\/sf:Id>/, '');
    expect(identify(body)[0]?.record).toBeNull();
  });

  it('takes the 100 Notifications Salesforce sends at most in one message, and refuses more', () => {
    const accounts = (n: number) =>
      Array.from({ length: n }, (_, i): [string, string] => [
        `04l5g00000Ab${String(i).padStart(4, '0')}AAB`,
        '0015g00000Qx7yzAAA',
      ]);
    expect(identify(soapNotification(ORG_18, accounts(100)))).toHaveLength(100);
    // 20,000 were stored from one 869 KB message, admitted by an org id that is no secret.
    expectMalformed(() => identify(soapNotification(ORG_18, accounts(101))));
  });

  it.each([
    ['no Notification', soapNotification(ORG_18, [])],
    ['a Notification without Id', ONE.replace(/<Id>.*?<\/Id>/, '')],
    ['not XML', '{}'],
  ])('refuses %s', (_, body) => {
    expectMalformed(() => identify(body));
  });
});

describe('salesforce-outbound secrets', () => {
  it.each([
    [ORG_18, null],
    ['00D5g000004Cf2P', null],
    ['00D5g000004Cf2PEAT', /org id/],
    ['salesforce', /org id/],
  ])('%s', (secret, problem) => {
    const result = checkSecret('salesforce-outbound', secret);
    if (problem === null) expect(result).toBeNull();
    else expect(result).toMatch(problem);
  });
});
