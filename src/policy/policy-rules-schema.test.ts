import { describe, expect, it } from 'vitest';
import type { PolicyRuleConfig } from './policy.js';
import { policyRulesSchema } from './policy-rules-schema.js';

const NO_CLOSE = {
  name: 'no-close-while-customer-waits',
  when: "proposal.operation == 'ticket.set_status' && proposal.params.status == 'closed'",
  deny: 'record.lastCustomerMessageAt > record.lastAgentReplyAt',
  reason: 'the customer wrote after the last reply',
};

describe('policyRulesSchema', () => {
  it('accepts the DESIGN.md example, typed as PolicyRuleConfig[]', () => {
    const rules: PolicyRuleConfig[] = policyRulesSchema.parse([
      NO_CLOSE,
      { name: 'refunds', requireApproval: "proposal.operation == 'order.cancel'", reason: 'r' },
    ]);
    expect(rules).toEqual([
      NO_CLOSE,
      { name: 'refunds', requireApproval: "proposal.operation == 'order.cancel'", reason: 'r' },
    ]);
  });

  it('defaults to no rules', () => {
    expect(policyRulesSchema.parse(undefined)).toEqual([]);
  });

  const invalid: { name: string; value: unknown; path: (string | number)[]; message: RegExp }[] = [
    {
      name: 'duplicate name',
      value: [NO_CLOSE, { ...NO_CLOSE, reason: 'again' }],
      path: [1, 'name'],
      message: /used by an earlier rule/,
    },
    {
      name: 'neither deny, requireApproval nor allowWithoutBasis',
      value: [{ name: 'idle', when: 'true', reason: 'r' }],
      path: [0],
      message: /expected deny, requireApproval or allowWithoutBasis: true/,
    },
    {
      name: 'reason missing',
      value: [{ name: 'quiet', deny: 'true' }],
      path: [0, 'reason'],
      message: /string/,
    },
    {
      name: 'reason blank',
      value: [{ name: 'quiet', deny: 'true', reason: '  ' }],
      path: [0, 'reason'],
      message: /expected the reason/,
    },
    {
      name: 'name not a slug',
      value: [{ ...NO_CLOSE, name: 'No Close' }],
      path: [0, 'name'],
      message: /lower-case letters/,
    },
    {
      name: 'CEL syntax error, at its key',
      value: [{ ...NO_CLOSE, deny: 'record.a >' }],
      path: [0, 'deny'],
      message: /Unexpected token: EOF at column 11/,
    },
    {
      name: 'unknown variable in when',
      value: [{ ...NO_CLOSE, when: 'reocrd.x' }],
      path: [0, 'when'],
      message: /Unknown variable: reocrd/,
    },
    {
      name: 'misspelt key',
      value: [{ name: 'x', requireAproval: 'true', deny: 'true', reason: 'r' }],
      path: [0],
      message: /requireAproval/,
    },
    { name: 'not a list', value: { name: 'x' }, path: [], message: /array/ },
  ];
  it.each(invalid)('refuses: $name', ({ value, path, message }) => {
    const result = policyRulesSchema.safeParse(value);
    expect(result.success).toBe(false);
    const issue = result.error?.issues.find((candidate) => message.test(candidate.message));
    expect(issue, JSON.stringify(result.error?.issues)).toBeDefined();
    expect(issue?.path).toEqual(path);
  });
});
