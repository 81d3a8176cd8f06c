import { AppError } from '../errors.js';
import {
  type Activation,
  type CompiledExpression,
  compileExpression,
  describeCelError,
  toActivation,
} from './cel-environment.js';
import type { PolicyInput, PolicyRuleConfig, Verdict } from './policy.js';
import { policyVersion } from './policy-version.js';

/** The expressions of a rule, in the order they are evaluated. */
const EXPRESSION_FIELDS = ['when', 'deny', 'requireApproval'] as const;
type ExpressionField = (typeof EXPRESSION_FIELDS)[number];

interface CompiledRule {
  readonly name: string;
  readonly reason: string;
  readonly allowWithoutBasis: boolean;
  readonly when: CompiledExpression | undefined;
  readonly deny: CompiledExpression | undefined;
  readonly requireApproval: CompiledExpression | undefined;
}

/** Rules parsed once at start-up, ready for {@link evaluatePolicies}. */
export interface CompiledPolicies {
  readonly rules: readonly CompiledRule[];
  /** {@link policyVersion} of the rules these were compiled from. */
  readonly version: string;
}

/**
 * Parses and type-checks every expression of every rule once. Throws AppError `config-invalid`
 * listing each problem with the rule's name and field: a syntax error, an unknown variable, a
 * type error the checker can see, a result that cannot be a bool, a duplicate name, a rule with
 * neither `deny` nor `requireApproval`, an empty reason.
 */
export function compilePolicies(rules: readonly PolicyRuleConfig[]): CompiledPolicies {
  const problems: string[] = [];
  const seen = new Set<string>();
  const compiled: CompiledRule[] = [];
  for (const [index, rule] of rules.entries()) {
    const label = rule.name ? `policy "${rule.name}"` : `policy #${index + 1}`;
    if (!rule.name) problems.push(`${label}: name is required`);
    else if (seen.has(rule.name)) problems.push(`${label}: the name is used by an earlier rule`);
    seen.add(rule.name);
    if (!rule.reason) problems.push(`${label}: reason is required`);
    if (rule.deny === undefined && rule.requireApproval === undefined && !rule.allowWithoutBasis) {
      problems.push(`${label}: needs deny, requireApproval or allowWithoutBasis`);
    }
    const expressions: Partial<Record<ExpressionField, CompiledExpression>> = {};
    for (const field of EXPRESSION_FIELDS) {
      const source = rule[field];
      if (source === undefined) continue;
      const result = compileExpression(source);
      if (result.ok) expressions[field] = result.expression;
      else problems.push(`${label} ${field}: ${result.problem}`);
    }
    compiled.push({
      name: rule.name,
      reason: rule.reason,
      allowWithoutBasis: rule.allowWithoutBasis === true,
      when: expressions.when,
      deny: expressions.deny,
      requireApproval: expressions.requireApproval,
    });
  }
  if (problems.length > 0) {
    throw new AppError('config-invalid', 400, `invalid policies:\n  ${problems.join('\n  ')}`, {
      details: { problems },
    });
  }
  return { rules: compiled, version: policyVersion(rules) };
}

/**
 * The verdict on one proposal. Rules are taken in order; a rule applies when its `when` is true
 * or absent. The first applicable rule whose `deny` is true denies; otherwise the first whose
 * `requireApproval` is true asks for approval; otherwise allow (rule null). A deny anywhere beats
 * an approval earlier in the list. A rule that cannot be evaluated (an error such as a missing
 * field, or a result that is not a bool) denies, naming the rule and what failed: fail closed.
 */
export function evaluatePolicies(policies: CompiledPolicies, input: PolicyInput): Verdict {
  const activation = lazyActivation(input);
  let approval: Verdict | undefined;
  for (const rule of policies.rules) {
    const applies = test(rule, 'when', activation, true);
    if (applies !== true) {
      if (applies === false) continue;
      return applies;
    }
    const denied = test(rule, 'deny', activation, false);
    if (denied !== false) {
      return denied === true ? { kind: 'deny', rule: rule.name, reason: rule.reason } : denied;
    }
    // Evaluated even after an earlier approval: a later rule that fails must still deny.
    const needsApproval = test(rule, 'requireApproval', activation, false);
    if (needsApproval === true) {
      approval ??= { kind: 'needs_approval', rule: rule.name, reason: rule.reason };
    } else if (needsApproval !== false) {
      return needsApproval;
    }
  }
  return approval ?? allow();
}

/**
 * The first rule that applies to `input` and lets it write without a basis revision
 * (`allowWithoutBasis: true`), or null: then a write to an existing record must name one. A rule
 * whose `when` cannot be evaluated waives nothing.
 */
export function basisWaiver(policies: CompiledPolicies, input: PolicyInput): string | null {
  const activation = lazyActivation(input);
  for (const rule of policies.rules) {
    if (rule.allowWithoutBasis && test(rule, 'when', activation, true) === true) return rule.name;
  }
  return null;
}

function allow(): Verdict {
  return { kind: 'allow', rule: null, reason: 'no policy rule objected' };
}

/**
 * `input` as CEL values, converted when the first expression is evaluated. Converting walks the
 * whole record, trying each string as a date-time: without policy rules (the default, and
 * `bench:actions`) it was about 3 % of the main thread's time per proposal, for nothing.
 */
function lazyActivation(input: PolicyInput): () => Activation {
  let activation: Activation | undefined;
  return () => {
    activation ??= toActivation(input);
    return activation;
  };
}

/** One expression of `rule`: its boolean, `absent` when it has none, or the fail-closed deny. */
function test(
  rule: CompiledRule,
  field: ExpressionField,
  activation: () => Activation,
  absent: boolean,
): boolean | Verdict {
  const expression = rule[field];
  if (expression === undefined) return absent;
  let result: unknown;
  try {
    result = expression.evaluate(activation());
  } catch (error) {
    return failed(rule, field, describeCelError(error));
  }
  if (typeof result === 'boolean') return result;
  return failed(rule, field, `it gave ${celTypeOf(result)}, not a bool`);
}

function failed(rule: CompiledRule, field: ExpressionField, why: string): Verdict {
  return {
    kind: 'deny',
    rule: rule.name,
    reason: `policy rule "${rule.name}" failed to evaluate its ${field} expression, so the proposal is denied: ${why}`,
  };
}

/** The CEL type name of an evaluation result, for the failure reason. */
function celTypeOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return 'an int';
  if (typeof value === 'number') return 'a double';
  if (typeof value === 'string') return 'a string';
  if (value instanceof Date) return 'a timestamp';
  if (value instanceof Uint8Array) return 'bytes';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Map) return 'a map';
  return 'a value of another type';
}
