/**
 * How deeply objects and arrays may nest in JSON that the gateway keeps and hands on: a
 * proposal's free-form parts, a webhook's body. The outermost object is level 1. Generous for
 * what agents and providers send, and a bound on every later walk over it (fingerprints, the
 * audit's canonical JSON, `JSON.stringify` of a view), which would overflow the stack some
 * thousands of levels down.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * How deeply objects and arrays nest in `value` (a scalar: 0), walked without recursion and no
 * further than `limit + 1` levels, so any depth is measured in bounded stack and time.
 */
export function nestingDepth(value: unknown, limit: number): number {
  let deepest = 0;
  const pending: Array<[unknown, number]> = [[value, 1]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (depth > limit) break;
    for (const inner of Object.values(item)) pending.push([inner, depth + 1]);
  }
  return deepest;
}
