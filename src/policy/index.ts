export {
  basisWaiver,
  type CompiledPolicies,
  compilePolicies,
  evaluatePolicies,
} from './evaluate-policies.js';
export type { PolicyInput, PolicyRuleConfig, Verdict } from './policy.js';
export { type PolicyRules, policyRulesSchema } from './policy-rules-schema.js';
export { policyVersion } from './policy-version.js';
