import { createHash } from 'node:crypto';

/** What a derived idempotency key is made of. */
export interface IdempotencyKeySource {
  readonly operation: string;
  readonly target: { readonly system: string; readonly type: string; readonly id: string };
  /** The inbox events the decision was made on (`basis.events`); their order does not matter. */
  readonly events?: readonly string[] | undefined;
  /** Part of the key only when no events are given. */
  readonly params?: unknown;
}

/**
 * The `Idempotency-Key` of a decision: `airlock-` and the SHA-256 (hex) of a canonical JSON of
 * the operation, the target and the triggering events (sorted, without repeats). Without events
 * the params go in instead (keys sorted at every level). So the same decision on the same event
 * gets the same key, and an agent that is triggered twice by one event writes once: a second
 * proposal with other params is refused as `idempotency-key-reuse` rather than executed.
 */
export function deriveIdempotencyKey(source: IdempotencyKeySource): string {
  const { system, type, id } = source.target;
  const events = [...new Set(source.events ?? [])].sort();
  const document =
    events.length > 0
      ? { operation: source.operation, target: { system, type, id }, events }
      : { operation: source.operation, target: { system, type, id }, params: source.params ?? {} };
  return `airlock-${createHash('sha256').update(canonicalJson(document)).digest('hex')}`;
}

/**
 * JSON with object keys sorted (by UTF-16 code units, as RFC 8785 orders them) and no
 * whitespace: equal values give equal text whatever order their keys were written in.
 * Members whose value is undefined are left out, as JSON.stringify leaves them out.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'object' && value !== null && 'toJSON' in value) {
    const toJSON = (value as { toJSON: unknown }).toJSON;
    if (typeof toJSON === 'function') return canonicalJson(toJSON.call(value));
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const members = Object.keys(value)
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .sort()
      .map(
        (key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`,
      );
    return `{${members.join(',')}}`;
  }
  // Numbers, strings, booleans and null as JSON writes them; what JSON cannot hold is null.
  return JSON.stringify(value) ?? 'null';
}
