/**
 * The value's JSON with the keys of every object sorted (by UTF-16 code units, as RFC 8785 sorts
 * them); numbers, strings and everything else as `JSON.stringify` writes them. Equal JSON values
 * give equal text, so the text can be hashed and the hash checked again later.
 *
 * The value goes through JSON first (`toJSON`, dropped `undefined` members, `NaN` → `null`), so
 * the canonical form is of exactly what a reader gets back from `JSON.parse`. Throws a TypeError
 * for a value without a JSON form (`undefined`, a function, a bigint).
 */
export function canonicalJson(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('canonicalJson: the value has no JSON form');
  return write(JSON.parse(text));
}

function write(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(write).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    // Sorted explicitly rather than by rebuilding the object: an object lists integer-like keys
    // ("2", "10") first in numeric order whatever order they were added in.
    const object = value as Record<string, unknown>;
    const members = Object.keys(object)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${write(object[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}
