import { z } from 'zod';
import { compileExpression } from './cel-environment.js';

/** A CEL expression: parsed and type-checked here, so a config error names the key. */
const expression = z
  .string()
  .min(1, 'expected a CEL expression')
  .superRefine((source, ctx) => {
    const result = compileExpression(source);
    if (!result.ok) ctx.addIssue({ code: 'custom', message: result.problem });
  });

const policyRuleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'expected lower-case letters, digits, - or _'),
    when: expression.optional(),
    deny: expression.optional(),
    requireApproval: expression.optional(),
    allowWithoutBasis: z.boolean().optional(),
    reason: z.string().trim().min(1, 'expected the reason told to the agent and the operator'),
  })
  .refine(
    (rule) =>
      rule.deny !== undefined || rule.requireApproval !== undefined || rule.allowWithoutBasis,
    { message: 'expected deny, requireApproval or allowWithoutBasis: true' },
  );

/**
 * The `policies:` list of the config: rules in the order they are evaluated, each named (unique),
 * with an optional `when`, at least one of `deny`, `requireApproval` and
 * `allowWithoutBasis: true`, and a `reason`. Every
 * expression is parsed and type-checked, so a bad one stops start-up with its key
 * (`policies.2.deny`). Defaults to no rules.
 */
export const policyRulesSchema = z
  .array(policyRuleSchema)
  .default([])
  .superRefine((rules, ctx) => {
    const seen = new Set<string>();
    for (const [index, rule] of rules.entries()) {
      if (seen.has(rule.name)) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `policy name "${rule.name}" is used by an earlier rule`,
        });
      }
      seen.add(rule.name);
    }
  });

/** The rules as the schema yields them; assignable to `PolicyRuleConfig[]`. */
export type PolicyRules = z.output<typeof policyRulesSchema>;
