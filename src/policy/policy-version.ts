import { canonicalDigest } from '../canonical-json.js';
import type { PolicyRuleConfig } from './policy.js';

/**
 * A stable identifier of a rule list: the hex SHA-256 of its canonical JSON (keys sorted, absent
 * fields omitted, rule order kept, since order decides). The same rules give the same version on
 * every instance and after a restart; changing any rule, or their order, gives another. An approval
 * records the version of the policy that asked for it.
 */
export function policyVersion(rules: readonly PolicyRuleConfig[]): string {
  return canonicalDigest(rules);
}
