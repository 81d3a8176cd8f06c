import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import {
  checkEvents,
  EARLIEST_EVENT_MS,
  type EventLimits,
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  storableKey,
} from './check-events.js';
import type { EventIdentity } from './scheme.js';

const RECEIVED = Date.UTC(2026, 0, 15, 10);
const LIMITS = { receivedAt: RECEIVED, aheadMs: 300_000 };

function event(fields: Partial<EventIdentity> = {}): EventIdentity {
  return {
    providerEventId: 'evt_1',
    dedupKey: 'evt_1',
    type: 'ticket.updated',
    record: { type: 'ticket', id: 'T-1' },
    occurredAt: RECEIVED - 1_000,
    itemIndex: null,
    ...fields,
  };
}

/** The problems `checkEvents` lists for the events, or [] when it accepts them. */
function problemsOf(events: EventIdentity[], limits: EventLimits = LIMITS): string[] {
  try {
    checkEvents(events, limits);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('malformed-body');
    expect((error as AppError).status).toBe(400);
    return (error as AppError).details.problems as string[];
  }
}

describe('checkEvents', () => {
  it.each<[string, Partial<EventIdentity>]>([
    ['no time', { occurredAt: null }],
    ['the earliest time', { occurredAt: EARLIEST_EVENT_MS }],
    ['a time exactly the allowance ahead', { occurredAt: RECEIVED + 300_000 }],
    ['a time a year old', { occurredAt: RECEIVED - 365 * 86_400_000 }],
    ['no type and no record', { type: null, record: null }],
    ['an id of the longest length', { providerEventId: 'i'.repeat(MAX_ID_LENGTH) }],
    ['a type of the longest length', { type: 't'.repeat(MAX_NAME_LENGTH) }],
    ['an id with an emoji and other control characters', { providerEventId: '😊\u0001\n' }],
  ])('accepts %s', (_what, fields) => {
    expect(problemsOf([event(fields)])).toEqual([]);
  });

  it.each<[string, Partial<EventIdentity>, string]>([
    [
      'a time one millisecond past the allowance',
      { occurredAt: RECEIVED + 300_001 },
      'occurredAt: 2026-01-15T10:05:00.001Z is not a time from 2000-01-01T00:00:00.000Z to 300 s after the request was received',
    ],
    [
      'a time before 2000',
      { occurredAt: EARLIEST_EVENT_MS - 1 },
      'occurredAt: 1999-12-31T23:59:59.999Z is not a time from 2000-01-01T00:00:00.000Z to 300 s after the request was received',
    ],
    [
      'a fraction of a millisecond',
      { occurredAt: RECEIVED + 0.5 },
      `occurredAt: ${RECEIVED + 0.5} ms is not a time from 2000-01-01T00:00:00.000Z to 300 s after the request was received`,
    ],
    [
      'a time no Date holds',
      { occurredAt: 1e300 },
      'occurredAt: 1e+300 ms is not a time from 2000-01-01T00:00:00.000Z to 300 s after the request was received',
    ],
    [
      'an infinite time',
      { occurredAt: Number.POSITIVE_INFINITY },
      'occurredAt: Infinity ms is not a time from 2000-01-01T00:00:00.000Z to 300 s after the request was received',
    ],
    ['an empty id', { providerEventId: '' }, 'providerEventId: is empty'],
    [
      'an id too long',
      { providerEventId: 'i'.repeat(MAX_ID_LENGTH + 1) },
      'providerEventId: is longer than 512 characters',
    ],
    ['a NUL in the type', { type: 'a\u0000b' }, 'type: contains a NUL character'],
    [
      'a type too long',
      { type: 't'.repeat(MAX_NAME_LENGTH + 1) },
      'type: is longer than 256 characters',
    ],
    [
      'a lone surrogate in the record id',
      { record: { type: 'ticket', id: '\udc00' } },
      'record.id: is not valid Unicode (a lone surrogate)',
    ],
    ['an empty record type', { record: { type: '', id: '1' } }, 'record.type: is empty'],
  ])('refuses %s', (_what, fields, problem) => {
    expect(problemsOf([event(fields)])).toEqual([problem]);
  });

  it('names each field as the payload does, and the item of a batch', () => {
    const events = [
      event({ itemIndex: 0 }),
      event({ itemIndex: 1, providerEventId: 'a\u0000', occurredAt: 1 }),
    ];
    const fields = { providerEventId: 'eventId', occurredAt: 'occurredAt' };
    expect(problemsOf(events, { ...LIMITS, fields })).toEqual([
      'item 1 eventId: contains a NUL character',
      'item 1 occurredAt: 1970-01-01T00:00:00.001Z is not a time from 2000-01-01T00:00:00.000Z to 300 s after the request was received',
    ]);
  });

  it('stores a dedup key too long for the unique index as its hash', () => {
    const long = 'k'.repeat(MAX_ID_LENGTH + 1);
    const [checked] = checkEvents([event({ dedupKey: long })], LIMITS);
    expect(checked?.dedupKey).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(checked?.dedupKey).toBe(storableKey(long));
    expect(storableKey(`${long}x`)).not.toBe(storableKey(long));
    expect(storableKey('evt_1')).toBe('evt_1');
    // Lossless for text UTF-8 cannot spell: two lone surrogates are two keys.
    expect(storableKey('\ud800')).not.toBe(storableKey('\ud801'));
  });
});
