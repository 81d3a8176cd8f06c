import { describe, expect, it } from 'vitest';
import { parseDateTime, toCelValue } from './cel-environment.js';

describe('parseDateTime', () => {
  const instants: [string, string][] = [
    ['2024-05-02T10:00:00Z', '2024-05-02T10:00:00.000Z'],
    ['2024-05-02T10:00:00.5Z', '2024-05-02T10:00:00.500Z'],
    ['2024-05-02T10:00:00.123456789Z', '2024-05-02T10:00:00.123Z'],
    ['2024-05-02T11:30:00+02:00', '2024-05-02T09:30:00.000Z'],
    ['2024-05-02T06:00:00-04:00', '2024-05-02T10:00:00.000Z'],
    ['2024-05-02t10:00:00z', '2024-05-02T10:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
  ];
  it.each(instants)('%s is the instant %s', (text, iso) => {
    expect(parseDateTime(text)?.toISOString()).toBe(iso);
  });

  const notInstants = [
    '2024-05-02', // a date, not an instant
    '2024-05-02T10:00:00', // no offset: local time of nowhere
    '2024-05-02 10:00:00Z',
    '2023-02-29T00:00:00Z', // not a leap year
    '2024-04-31T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-05-02T24:00:00Z',
    '2024-05-02T10:60:00Z',
    '2024-05-02T10:00:60Z',
    '2024-05-02T10:00:00+24:00',
    ' 2024-05-02T10:00:00Z',
    'T-1042',
  ];
  it.each(notInstants)('%j stays a string', (text) => {
    expect(parseDateTime(text)).toBeUndefined();
    expect(toCelValue(text)).toBe(text);
  });
});

describe('toCelValue', () => {
  it('turns objects into maps, date-times into timestamps, everywhere', () => {
    const value = toCelValue({
      at: '2024-05-02T10:00:00Z',
      n: 3,
      list: ['2024-05-02T10:00:00Z', undefined, { x: null }],
      gone: undefined,
    });
    expect(value).toEqual(
      new Map<string, unknown>([
        ['at', new Date('2024-05-02T10:00:00Z')],
        ['n', 3],
        ['list', [new Date('2024-05-02T10:00:00Z'), null, new Map([['x', null]])]],
      ]),
    );
  });
});
