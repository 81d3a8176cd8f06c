import { canonicalJson } from '../canonical-json.js';

/** One field of a record whose value differs between two reads. */
export interface FieldChange {
  readonly field: string;
  /** Undefined (absent from the JSON) for a field that did not exist then. */
  readonly was: unknown;
  readonly now: unknown;
}

/**
 * The fields whose values differ between `then` and `now` (compared as canonical JSON, so key
 * order inside a value does not count), in the order of their names; a field only one side has
 * is a change too.
 */
export function fieldChanges(
  then: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
): FieldChange[] {
  const fields = [...new Set([...Object.keys(then), ...Object.keys(now)])].sort();
  return fields
    .filter((field) => same(then[field]) !== same(now[field]))
    .map((field) => ({ field, was: then[field], now: now[field] }));
}

function same(value: unknown): string {
  return value === undefined ? '' : canonicalJson(value);
}
