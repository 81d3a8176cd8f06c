import { hash } from 'node:crypto';

/**
 * The hex SHA-256 of the value's canonical JSON (below): the same for equal JSON values whatever
 * order their keys were written in. Request fingerprints, derived idempotency keys, policy
 * versions and the sandbox's request fingerprints are this digest.
 */
export function canonicalDigest(value: unknown): string {
  return hash('sha256', canonicalJson(value));
}

/**
 * The value's JSON with the keys of every object sorted (by UTF-16 code units, as RFC 8785 sorts
 * them) and no whitespace; numbers, strings and everything else as `JSON.stringify` writes them.
 * Equal JSON values give equal text whatever order their keys were written in, so the text can
 * be hashed and the hash checked again later: the audit chain, request fingerprints, derived
 * idempotency keys, policy versions.
 *
 * The text is that of exactly what a reader gets back from `JSON.parse` of the value's JSON
 * (`toJSON` called, `undefined` members left out, `NaN` written `null`). Throws a TypeError for a
 * value without a JSON form (`undefined`, a function, a bigint) or with a cycle.
 */
export function canonicalJson(value: unknown): string {
  const text = plainJson(value, PLAIN_DEPTH);
  if (text !== undefined) return text;
  // Something only JSON.stringify knows how to write (a Date, an undefined member, NaN, a class
  // instance) or nested past the budget: its JSON, parsed, is plain data.
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('canonicalJson: the value has no JSON form');
  return plainJson(JSON.parse(json), Number.POSITIVE_INFINITY) as string;
}

/**
 * Levels of nesting the first pass walks before it leaves the value to `JSON.stringify`, which
 * throws a TypeError for a cycle where this walk would overflow the stack.
 */
const PLAIN_DEPTH = 100;

/**
 * The canonical text of `value` when it is plain JSON data (plain objects and arrays of strings,
 * finite numbers, booleans and null), in one walk; undefined for anything else, or when it
 * nests deeper than `depth`. The audit writes three entries per action: this walk takes about
 * half the time of writing its JSON, parsing that and walking the result.
 */
function plainJson(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case 'object': {
      if (value === null) return 'null';
      if (depth === 0 || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        return undefined;
      }
      if (Array.isArray(value)) {
        let text = '[';
        for (let index = 0; index < value.length; index += 1) {
          // A hole or an undefined item is written `null`: left to JSON.stringify.
          const item = plainJson(value[index], depth - 1);
          if (item === undefined) return undefined;
          text += index === 0 ? item : `,${item}`;
        }
        return `${text}]`;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return undefined;
      const object = value as Record<string, unknown>;
      // Sorted explicitly rather than by rebuilding the object: an object lists integer-like
      // keys ("2", "10") first in numeric order whatever order they were added in.
      const keys = Object.keys(object).sort();
      let text = '{';
      for (let index = 0; index < keys.length; index += 1) {
        const key = keys[index] as string;
        const item = plainJson(object[key], depth - 1);
        if (item === undefined) return undefined;
        text += `${index === 0 ? '' : ','}${JSON.stringify(key)}:${item}`;
      }
      return `${text}}`;
    }
    default:
      return undefined;
  }
}
