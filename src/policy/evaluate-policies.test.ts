import { describe, expect, it } from 'vitest';
import { AppError } from '../errors.js';
import { basisWaiver, compilePolicies, evaluatePolicies } from './evaluate-policies.js';
import type { PolicyInput, PolicyRuleConfig, Verdict } from './policy.js';
import { policyVersion } from './policy-version.js';

/** The rule from DESIGN.md's config example. */
const NO_CLOSE: PolicyRuleConfig = {
  name: 'no-close-while-customer-waits',
  when: "proposal.operation == 'ticket.set_status' && proposal.params.status == 'closed'",
  deny: 'record.lastCustomerMessageAt > record.lastAgentReplyAt',
  reason: 'the customer wrote after the last reply',
};

/** The README's form of it, for a ticket no agent has answered yet (`lastAgentReplyAt` null). */
const NO_CLOSE_NULL_SAFE: PolicyRuleConfig = {
  ...NO_CLOSE,
  deny: 'record.lastCustomerMessageAt != null && (record.lastAgentReplyAt == null || record.lastCustomerMessageAt > record.lastAgentReplyAt)',
};

const BIG_DISCOUNT: PolicyRuleConfig = {
  name: 'big-discount-needs-approval',
  when: "proposal.operation == 'discount.apply'",
  requireApproval: 'proposal.params.amount > 100',
  reason: 'discounts above 100 need a human',
};

const NOW = new Date('2024-05-02T12:00:00Z');

interface InputOverrides {
  operation?: string;
  params?: Record<string, unknown>;
  record?: Record<string, unknown> | null;
  agent?: PolicyInput['agent'];
  risk?: PolicyInput['proposal']['risk'];
}

function input(overrides: InputOverrides = {}): PolicyInput {
  return {
    proposal: {
      operation: overrides.operation ?? 'ticket.set_status',
      target: { system: 'helpdesk', type: 'ticket', id: 'T-1042' },
      params: overrides.params ?? { status: 'closed', reason: 'resolved' },
      risk: overrides.risk ?? 'low',
    },
    record:
      overrides.record === undefined
        ? {
            id: 'T-1042',
            subject: 'Refund please',
            lastCustomerMessageAt: '2024-05-02T10:00:00Z',
            lastAgentReplyAt: '2024-05-02T09:00:00Z',
            createdAt: '2024-05-01T18:00:00Z',
          }
        : overrides.record,
    agent: overrides.agent ?? {
      name: 'support-bot',
      operations: ['ticket.reply', 'ticket.add_note', 'ticket.set_status'],
    },
    now: NOW,
  };
}

const allow: Verdict = { kind: 'allow', rule: null, reason: 'no policy rule objected' };

interface Case {
  name: string;
  rules: PolicyRuleConfig[];
  input: PolicyInput;
  expected: Verdict;
}

/** A rule that denies when `expression` is true; its name and reason are fixed. */
function denyWhen(expression: string, name = 'rule-under-test'): PolicyRuleConfig {
  return { name, deny: expression, reason: `${name} denies` };
}

function denied(name = 'rule-under-test'): Verdict {
  return { kind: 'deny', rule: name, reason: `${name} denies` };
}

const cases: Case[] = [
  {
    name: 'README example: closing a ticket no agent answered yet is denied for its reason',
    rules: [NO_CLOSE_NULL_SAFE],
    input: input({
      record: { lastCustomerMessageAt: '2024-05-02T10:00:00Z', lastAgentReplyAt: null },
    }),
    expected: {
      kind: 'deny',
      rule: 'no-close-while-customer-waits',
      reason: 'the customer wrote after the last reply',
    },
  },
  {
    name: 'README example: closing after the last reply is allowed',
    rules: [NO_CLOSE_NULL_SAFE],
    input: input({
      record: {
        lastCustomerMessageAt: '2024-05-02T09:00:00Z',
        lastAgentReplyAt: '2024-05-02T10:00:00Z',
      },
    }),
    expected: { kind: 'allow', rule: null, reason: 'no policy rule objected' },
  },
  {
    name: 'README example: closing a ticket without messages is allowed',
    rules: [NO_CLOSE_NULL_SAFE],
    input: input({ record: { lastCustomerMessageAt: null, lastAgentReplyAt: null } }),
    expected: { kind: 'allow', rule: null, reason: 'no policy rule objected' },
  },
  {
    name: 'DESIGN example: closing while the customer waits is denied',
    rules: [NO_CLOSE],
    input: input(),
    expected: {
      kind: 'deny',
      rule: 'no-close-while-customer-waits',
      reason: 'the customer wrote after the last reply',
    },
  },
  {
    name: 'DESIGN example: closing after the last reply is allowed',
    rules: [NO_CLOSE],
    input: input({
      record: {
        lastCustomerMessageAt: '2024-05-02T09:00:00Z',
        lastAgentReplyAt: '2024-05-02T10:00:00Z',
      },
    }),
    expected: allow,
  },
  {
    name: 'DESIGN example: another status is not concerned (when is false)',
    rules: [NO_CLOSE],
    input: input({ params: { status: 'pending' } }),
    expected: allow,
  },
  {
    name: 'DESIGN example: another operation is not concerned, record fields unread',
    rules: [NO_CLOSE],
    input: input({ operation: 'ticket.add_note', params: { body: 'x' }, record: {} }),
    expected: allow,
  },
  { name: 'no rules: allow', rules: [], input: input(), expected: allow },
  {
    name: 'requireApproval true: needs_approval naming the rule',
    rules: [NO_CLOSE, BIG_DISCOUNT],
    input: input({ operation: 'discount.apply', params: { amount: 150 } }),
    expected: {
      kind: 'needs_approval',
      rule: 'big-discount-needs-approval',
      reason: 'discounts above 100 need a human',
    },
  },
  {
    name: 'requireApproval false: allow',
    rules: [BIG_DISCOUNT],
    input: input({ operation: 'discount.apply', params: { amount: 100 } }),
    expected: allow,
  },
  {
    name: 'a deny after an approval wins',
    rules: [
      { name: 'approve-all', requireApproval: 'true', reason: 'everything needs a human' },
      denyWhen("proposal.params.status == 'closed'", 'no-closing'),
    ],
    input: input(),
    expected: denied('no-closing'),
  },
  {
    name: 'the first of two denies decides',
    rules: [denyWhen('true', 'first'), denyWhen('true', 'second')],
    input: input(),
    expected: denied('first'),
  },
  {
    name: 'the first of two approvals decides',
    rules: [
      { name: 'first', requireApproval: 'true', reason: 'first asks' },
      { name: 'second', requireApproval: 'true', reason: 'second asks' },
    ],
    input: input(),
    expected: { kind: 'needs_approval', rule: 'first', reason: 'first asks' },
  },
  {
    name: 'a rule with deny and requireApproval: deny true denies',
    rules: [{ name: 'both', deny: 'true', requireApproval: 'true', reason: 'both' }],
    input: input(),
    expected: { kind: 'deny', rule: 'both', reason: 'both' },
  },
  {
    name: 'a rule with deny and requireApproval: deny false, approval true asks',
    rules: [{ name: 'both', deny: 'false', requireApproval: 'true', reason: 'both' }],
    input: input(),
    expected: { kind: 'needs_approval', rule: 'both', reason: 'both' },
  },
  {
    name: 'has() guards an absent field',
    rules: [denyWhen('has(record.vip) && record.vip')],
    input: input(),
    expected: allow,
  },
  {
    name: 'has() sees a present field',
    rules: [denyWhen('has(record.vip) && record.vip')],
    input: input({ record: { vip: true } }),
    expected: denied(),
  },
  {
    name: 'a create (record null) can be tested for',
    rules: [denyWhen("record == null && proposal.operation == 'contact.create'")],
    input: input({ operation: 'contact.create', params: {}, record: null }),
    expected: denied(),
  },
  // Timestamps: ISO date-times in record and params are CEL timestamps; `now` is one.
  {
    name: 'now - timestamp(record.createdAt) < 24h',
    rules: [denyWhen("now - timestamp(record.createdAt) < duration('24h')")],
    input: input(),
    expected: denied(),
  },
  {
    name: 'now - record.createdAt < 24h, false for an older record',
    rules: [denyWhen("now - record.createdAt < duration('24h')")],
    input: input({ record: { createdAt: '2024-04-30T12:00:00Z' } }),
    expected: allow,
  },
  {
    name: 'timestamps compare as instants across offsets (a string compare would not)',
    rules: [denyWhen('record.lastCustomerMessageAt > record.lastAgentReplyAt')],
    // 11:30+02:00 is 09:30Z, before the reply at 10:00Z.
    input: input({
      record: {
        lastCustomerMessageAt: '2024-05-02T11:30:00+02:00',
        lastAgentReplyAt: '2024-05-02T10:00:00Z',
      },
    }),
    expected: allow,
  },
  {
    name: 'timestamps compare as instants with fractions (a string compare would not)',
    rules: [denyWhen('record.lastCustomerMessageAt > record.lastAgentReplyAt')],
    input: input({
      record: {
        lastCustomerMessageAt: '2024-05-02T10:00:00.500Z',
        lastAgentReplyAt: '2024-05-02T10:00:00Z',
      },
    }),
    expected: denied(),
  },
  {
    name: 'a timestamp literal compares with now',
    rules: [denyWhen("now > timestamp('2024-05-01T00:00:00Z')")],
    input: input(),
    expected: denied(),
  },
  {
    name: 'date-time params are timestamps too',
    rules: [denyWhen("timestamp(proposal.params.dueAt) - now > duration('720h')")],
    input: input({ params: { dueAt: '2024-07-01T00:00:00Z' } }),
    expected: denied(),
  },
  {
    name: 'a date without a time stays a string',
    rules: [denyWhen("record.dueDate == '2024-05-01'")],
    input: input({ record: { dueDate: '2024-05-01' } }),
    expected: denied(),
  },
  // Params, target, risk, agent.
  {
    name: 'proposal.params.amount > 100 (a JSON number compares with an int literal)',
    rules: [denyWhen('proposal.params.amount > 100')],
    input: input({ params: { amount: 100.5 } }),
    expected: denied(),
  },
  {
    name: 'JSON numbers are doubles: arithmetic takes double literals',
    rules: [denyWhen('proposal.params.amount * 2.0 > 100.0')],
    input: input({ params: { amount: 60 } }),
    expected: denied(),
  },
  {
    name: 'nested params and lists',
    rules: [denyWhen("'vip' in proposal.params.tags && proposal.params.meta.source == 'email'")],
    input: input({ params: { tags: ['vip', 'refund'], meta: { source: 'email' } } }),
    expected: denied(),
  },
  {
    name: 'a __proto__ key in params is an ordinary key',
    rules: [denyWhen("proposal.params['__proto__'].x == 1")],
    input: input({ params: JSON.parse('{"__proto__": {"x": 1}}') as Record<string, unknown> }),
    expected: denied(),
  },
  {
    name: 'target and risk',
    rules: [denyWhen("proposal.target.type == 'ticket' && proposal.risk == 'high'")],
    input: input({ risk: 'high' }),
    expected: denied(),
  },
  {
    name: 'agent name',
    rules: [denyWhen("agent.name == 'support-bot'")],
    input: input(),
    expected: denied(),
  },
  {
    name: 'agent operations',
    rules: [denyWhen("!('ticket.reply' in agent.operations)")],
    input: input({ agent: { name: 'triage-bot', operations: ['ticket.tag'] } }),
    expected: denied(),
  },
];

describe('evaluatePolicies', () => {
  it.each(cases)('$name', ({ rules, input, expected }) => {
    expect(evaluatePolicies(compilePolicies(rules), input)).toEqual(expected);
  });
});

interface FailCase {
  name: string;
  rules: PolicyRuleConfig[];
  input: PolicyInput;
  /** The rule named in the deny. */
  rule: string;
  /** Text the reason must hold: the expression that failed and why. */
  why: RegExp;
}

const failCases: FailCase[] = [
  {
    name: 'missing record field in deny',
    rules: [NO_CLOSE],
    input: input({ record: { lastCustomerMessageAt: '2024-05-02T10:00:00Z' } }),
    rule: 'no-close-while-customer-waits',
    why: /deny expression.*No such key: lastAgentReplyAt/,
  },
  {
    name: 'missing params field in when',
    rules: [BIG_DISCOUNT, { ...NO_CLOSE, when: "proposal.params.status == 'closed'" }],
    input: input({ operation: 'ticket.add_note', params: { body: 'hello' } }),
    rule: 'no-close-while-customer-waits',
    why: /when expression.*No such key: status/,
  },
  {
    name: 'a field of a record that does not exist (create)',
    rules: [NO_CLOSE],
    input: input({ record: null }),
    rule: 'no-close-while-customer-waits',
    why: /deny expression/,
  },
  {
    name: 'type error: string compared with int',
    rules: [denyWhen('record.subject > 1', 'typed')],
    input: input(),
    rule: 'typed',
    why: /deny expression.*no such overload/,
  },
  {
    name: 'type error: timestamp compared with a string',
    rules: [denyWhen("record.createdAt > '2024-01-01'", 'typed')],
    input: input(),
    rule: 'typed',
    why: /deny expression.*no such overload/,
  },
  {
    name: 'type error: double plus int',
    rules: [{ name: 'sum', requireApproval: 'proposal.params.amount + 1 > 100', reason: 'x' }],
    input: input({ params: { amount: 150 } }),
    rule: 'sum',
    why: /requireApproval expression.*no such overload/,
  },
  {
    name: 'non-boolean result (string)',
    rules: [denyWhen('proposal.params.status', 'not-bool')],
    input: input(),
    rule: 'not-bool',
    why: /deny expression.*gave a string, not a bool/,
  },
  {
    name: 'non-boolean result in when (null)',
    rules: [{ ...denyWhen('true', 'not-bool'), when: 'record.nothing' }],
    input: input({ record: { nothing: null } }),
    rule: 'not-bool',
    why: /when expression.*gave null, not a bool/,
  },
  {
    name: 'division by zero',
    rules: [denyWhen('1 / (size(proposal.params) - size(proposal.params)) == 1', 'divide')],
    input: input(),
    rule: 'divide',
    why: /division by zero/,
  },
  {
    name: 'a failing rule after an approval still denies',
    rules: [BIG_DISCOUNT, denyWhen('record.missing', 'broken')],
    input: input({ operation: 'discount.apply', params: { amount: 500 } }),
    rule: 'broken',
    why: /No such key: missing/,
  },
];

describe('evaluatePolicies fails closed', () => {
  it.each(failCases)('$name', ({ rules, input, rule, why }) => {
    const verdict = evaluatePolicies(compilePolicies(rules), input);
    expect(verdict.kind).toBe('deny');
    expect(verdict.rule).toBe(rule);
    expect(verdict.reason).toMatch(new RegExp(`^policy rule "${rule}" failed to evaluate`));
    expect(verdict.reason).toMatch(why);
  });
});

function compileError(rules: PolicyRuleConfig[]): AppError {
  try {
    compilePolicies(rules);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('compilePolicies did not throw');
}

const compileCases: { name: string; rules: PolicyRuleConfig[]; problem: RegExp }[] = [
  {
    name: 'syntax error, naming the rule, the field and the column',
    rules: [NO_CLOSE, { name: 'bad-rule', deny: "proposal.operation == 'x' &&", reason: 'r' }],
    problem: /^policy "bad-rule" deny: Unexpected token: EOF at column 29 in "proposal/,
  },
  {
    name: 'unterminated string in when',
    rules: [{ name: 'bad-when', when: "proposal.operation == 'x", deny: 'true', reason: 'r' }],
    problem: /^policy "bad-when" when: Unterminated string/,
  },
  {
    name: 'unknown variable',
    rules: [{ name: 'typo', deny: "reocrd.status == 'open'", reason: 'r' }],
    problem: /^policy "typo" deny: Unknown variable: reocrd/,
  },
  {
    name: 'type error the checker can see',
    rules: [{ name: 'typed', requireApproval: 'now > 1', reason: 'r' }],
    problem: /^policy "typed" requireApproval: no such overload/,
  },
  {
    name: 'a result that is never a bool',
    rules: [{ name: 'sum', deny: '1 + 2', reason: 'r' }],
    problem: /^policy "sum" deny: gives int, expected bool/,
  },
  {
    name: 'duplicate names',
    rules: [NO_CLOSE, NO_CLOSE],
    problem: /^policy "no-close-while-customer-waits": the name is used by an earlier rule/,
  },
  {
    name: 'neither deny, requireApproval nor allowWithoutBasis',
    rules: [{ name: 'idle', when: 'true', reason: 'r' }],
    problem: /^policy "idle": needs deny, requireApproval or allowWithoutBasis/,
  },
  {
    name: 'empty reason',
    rules: [{ name: 'quiet', deny: 'true', reason: '' }],
    problem: /^policy "quiet": reason is required/,
  },
];

describe('compilePolicies', () => {
  it.each(compileCases)('config-invalid: $name', ({ rules, problem }) => {
    const error = compileError(rules);
    expect(error.code).toBe('config-invalid');
    const problems = error.details.problems as string[];
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(problem);
    expect(error.message).toContain(problems[0]);
  });

  it('lists every problem at once', () => {
    const error = compileError([
      { name: 'one', deny: '(', reason: 'r' },
      { name: 'two', when: ')', requireApproval: 'true', reason: 'r' },
    ]);
    expect(error.details.problems).toEqual([
      expect.stringMatching(/^policy "one" deny: /),
      expect.stringMatching(/^policy "two" when: /),
    ]);
  });

  it('carries the policy version of its rules, and accepts frozen config', () => {
    const rules = Object.freeze([
      Object.freeze({ ...NO_CLOSE }),
      Object.freeze({ ...BIG_DISCOUNT }),
    ]);
    const compiled = compilePolicies(rules);
    expect(compiled.version).toBe(policyVersion(rules));
    expect(compiled.rules.map((rule) => rule.name)).toEqual([NO_CLOSE.name, BIG_DISCOUNT.name]);
  });

  it('compiles once and evaluates many inputs', () => {
    const compiled = compilePolicies([NO_CLOSE]);
    expect(evaluatePolicies(compiled, input()).kind).toBe('deny');
    expect(evaluatePolicies(compiled, input({ params: { status: 'open' } })).kind).toBe('allow');
    expect(evaluatePolicies(compiled, input()).kind).toBe('deny');
  });
});

describe('basisWaiver', () => {
  const TAGS: PolicyRuleConfig = {
    name: 'tags-without-basis',
    when: "proposal.operation == 'ticket.tag'",
    allowWithoutBasis: true,
    reason: 'tagging is harmless on any revision',
  };

  it('names the first applicable rule that allows a write without a basis', () => {
    const compiled = compilePolicies([NO_CLOSE, TAGS]);
    expect(basisWaiver(compiled, input({ operation: 'ticket.tag', params: {} }))).toBe(TAGS.name);
    // The rule does not apply: the basis stays required.
    expect(basisWaiver(compiled, input())).toBeNull();
    // A rule without allowWithoutBasis waives nothing, even when it applies.
    expect(basisWaiver(compilePolicies([NO_CLOSE]), input())).toBeNull();
  });

  it('waives nothing when the rule cannot be evaluated (fail closed)', () => {
    const broken = compilePolicies([{ ...TAGS, when: 'record.priority == "low"' }]);
    expect(basisWaiver(broken, input({ operation: 'ticket.tag', params: {} }))).toBeNull();
  });

  it('is a rule of its own: with neither deny nor requireApproval it still compiles', () => {
    expect(compilePolicies([TAGS]).rules).toHaveLength(1);
    expect(evaluatePolicies(compilePolicies([TAGS]), input({ operation: 'ticket.tag' }))).toEqual(
      allow,
    );
  });
});
