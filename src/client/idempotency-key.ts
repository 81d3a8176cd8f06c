import { canonicalDigest } from '../canonical-json.js';

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
  return `airlock-${canonicalDigest(document)}`;
}
