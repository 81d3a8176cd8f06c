import { describe, expect, it } from 'vitest';
import type { PolicyRuleConfig } from './policy.js';
import { policyVersion } from './policy-version.js';

const A: PolicyRuleConfig = { name: 'a', when: 'true', deny: 'false', reason: 'ra' };
const B: PolicyRuleConfig = { name: 'b', requireApproval: 'true', reason: 'rb' };

describe('policyVersion', () => {
  it('is the hex sha-256 of the canonical JSON', () => {
    // Pinned: approvals store the version, so it must not drift between releases.
    // sha256('[{"name":"b","reason":"rb","requireApproval":"true"}]')
    expect(policyVersion([B])).toBe(
      'f800d8df216ee3f0a2ce2ca38506232b0c0bd57c64b147e3cc6c43d3b747fd5b',
    );
  });

  const same: { name: string; left: PolicyRuleConfig[]; right: PolicyRuleConfig[] }[] = [
    {
      name: 'key order does not matter',
      left: [A],
      right: [{ reason: 'ra', deny: 'false', when: 'true', name: 'a' }],
    },
    {
      name: 'an undefined field equals an absent one',
      left: [B],
      right: [{ ...B, when: undefined, deny: undefined }],
    },
  ];
  it.each(same)('same version: $name', ({ left, right }) => {
    expect(policyVersion(left)).toBe(policyVersion(right));
  });

  const different: { name: string; left: PolicyRuleConfig[]; right: PolicyRuleConfig[] }[] = [
    { name: 'rule order', left: [A, B], right: [B, A] },
    { name: 'an expression', left: [A], right: [{ ...A, deny: 'true' }] },
    { name: 'a reason', left: [A], right: [{ ...A, reason: 'other' }] },
    { name: 'a name', left: [A], right: [{ ...A, name: 'a2' }] },
    { name: 'a rule added', left: [A], right: [A, B] },
    { name: 'no rules vs one', left: [], right: [A] },
  ];
  it.each(different)('another version: $name', ({ left, right }) => {
    expect(policyVersion(left)).not.toBe(policyVersion(right));
  });
});
