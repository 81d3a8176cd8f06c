import { createHash } from 'node:crypto';
import type { PolicyRuleConfig } from './policy.js';

/**
 * A stable identifier of a rule list: the hex SHA-256 of its canonical JSON (keys sorted, absent
 * fields omitted, rule order kept, since order decides). The same rules give the same version on
 * every instance and after a restart; changing any rule, or their order, gives another. An approval
 * records the version of the policy that asked for it.
 */
export function policyVersion(rules: readonly PolicyRuleConfig[]): string {
  return createHash('sha256').update(canonicalJson(rules)).digest('hex');
}

/** JSON with object keys sorted at every level; undefined members dropped as JSON.stringify does. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map(
        (key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`,
      );
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}
