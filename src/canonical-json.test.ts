import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';
import { draw } from './seeded-random.js';

class Point {
  constructor(
    readonly y: number,
    readonly x: number,
  ) {}
}

const nested = (levels: number): unknown => {
  let value: unknown = 'core';
  for (let level = 0; level < levels; level += 1) value = { b: level, a: [value] };
  return value;
};

describe('canonicalJson', () => {
  it.each([
    [{ b: 1, a: [{ d: 2, c: null }] }, '{"a":[{"c":null,"d":2}],"b":1}'],
    // Integer-like keys sort as strings, not in the numeric order objects list them in.
    [{ b: 1, 10: 'x', 2: 'y' }, '{"10":"x","2":"y","b":1}'],
    [{ a: undefined, n: Number.NaN, d: new Date(0) }, '{"d":"1970-01-01T00:00:00.000Z","n":null}'],
    [{ s: 'é\u0000"' }, '{"s":"é\\u0000\\""}'],
    [{ z: -0, y: 1e21, x: 0.1 }, '{"x":0.1,"y":1e+21,"z":0}'],
    // Arrays keep their order; what JSON writes as null is null.
    [[3, undefined, () => 1, Number.POSITIVE_INFINITY, 'a'], '[3,null,null,null,"a"]'],
    // A hole is null, as JSON writes it.
    // biome-ignore lint/suspicious/noSparseArray: the hole is the case
    [[1, , 2], '[1,null,2]'],
    // A class instance is its own enumerable fields, sorted.
    [{ p: new Point(2, 1) }, '{"p":{"x":1,"y":2}}'],
    // What toJSON gives is sorted too.
    [{ t: { toJSON: () => ({ b: 2, a: 1 }) } }, '{"t":{"a":1,"b":2}}'],
    [Object.assign(Object.create(null), { b: true, a: false }), '{"a":false,"b":true}'],
    // A key that is a prototype's name elsewhere is a key like any other.
    [JSON.parse('{"__proto__":{"b":1,"a":2},"x":1}'), '{"__proto__":{"a":2,"b":1},"x":1}'],
    [new Number(5), '5'],
    ['top', '"top"'],
    [null, 'null'],
  ])('writes %j as %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });

  it('writes values nested deeper than its first walk goes', () => {
    const deep = nested(150);
    const text = canonicalJson(deep);
    expect(JSON.parse(text)).toEqual(deep);
    expect(text.startsWith('{"a":[{"a":[')).toBe(true);
  });

  it('refuses a value without a JSON form, or with a cycle', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson(() => 1)).toThrow(TypeError);
    expect(() => canonicalJson({ n: 1n })).toThrow(TypeError);
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = { back: cycle };
    expect(() => canonicalJson(cycle)).toThrow(TypeError);
  });

  it('gives equal values equal text, and text that means the value', () => {
    for (let sample = 0; sample < 300; sample += 1) {
      const random = (key: string) => draw(sample, 'canonical-json', key);
      const value = randomValue(random, 'v', 4);
      const text = canonicalJson(value);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      // The same members given in another order, and the text read back, write the same.
      expect(canonicalJson(reversedKeys(value))).toBe(text);
      expect(canonicalJson(JSON.parse(text))).toBe(text);
      expect(text).not.toMatch(/^\s|[:,]\s/);
    }
  });
});

const KEYS = ['a', 'B', 'b', 'é', '10', '2', '_', 'ab', 'a b', '\u{1F600}', 'ﬀ'];
const STRINGS = ['', 'x', 'line\nbreak', 'quote"', '\\', '\u0001', '\u2028', 'é', '\u{1F600}'];
const NUMBERS = [0, -0, 1, -1, 0.5, 1e21, 1e-7, 123456789.125, Number.MAX_SAFE_INTEGER];

/** A JSON value drawn from `random`: objects and arrays down to `depth` levels. */
function randomValue(random: (key: string) => number, path: string, depth: number): unknown {
  const pick = <T>(list: readonly T[], key: string): T =>
    list[Math.floor(random(`${path}.${key}`) * list.length)] as T;
  const kind = Math.floor(random(`${path}.kind`) * (depth > 0 ? 7 : 5));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return random(`${path}.bool`) < 0.5;
    case 2:
      return pick(NUMBERS, 'number');
    case 3:
    case 4:
      return pick(STRINGS, 'string');
    case 5: {
      const length = Math.floor(random(`${path}.length`) * 4);
      return Array.from({ length }, (_, index) =>
        randomValue(random, `${path}[${index}]`, depth - 1),
      );
    }
    default: {
      const object: Record<string, unknown> = {};
      const size = Math.floor(random(`${path}.size`) * 5);
      for (let index = 0; index < size; index += 1) {
        const key = pick(KEYS, `key${index}`);
        object[key] = randomValue(random, `${path}.${index}`, depth - 1);
      }
      return object;
    }
  }
}

/** `value` with every object's members added in the reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value).reverse();
  return Object.fromEntries(entries.map(([key, inner]) => [key, reversedKeys(inner)]));
}
