import { createHash } from 'node:crypto';
import { z } from 'zod';
import { malformed } from './payload.js';
import type { EventField, EventIdentity } from './scheme.js';

/** Most characters of an id taken from a payload: an event id, a record id. */
export const MAX_ID_LENGTH = 512;
/** Most characters of a name taken from a payload: an event type, a record type. */
export const MAX_NAME_LENGTH = 256;
/**
 * The earliest event time accepted, 2000-01-01T00:00:00Z. Every provider's events are later; an
 * earlier one is a time in seconds read as milliseconds, or no time at all.
 */
export const EARLIEST_EVENT_MS = Date.UTC(2000, 0, 1);

/** Text a column holds as given on both backends: no NUL (PostgreSQL refuses it), valid Unicode. */
function storedText(max: number) {
  return (
    z
      .string()
      .max(max, { error: `is longer than ${max} characters` })
      .refine((text) => !text.includes('\u0000'), { error: 'contains a NUL character' })
      // A lone surrogate has no UTF-8 spelling: the drivers would store U+FFFD instead, and two
      // different ids would become one.
      .refine((text) => text.isWellFormed(), {
        error: 'is not valid Unicode (a lone surrogate)',
      })
  );
}

const eventSchema = z.object({
  providerEventId: storedText(MAX_ID_LENGTH).min(1, { error: 'is empty' }),
  type: storedText(MAX_NAME_LENGTH).nullable(),
  record: z
    .object({
      type: storedText(MAX_NAME_LENGTH).min(1, { error: 'is empty' }),
      id: storedText(MAX_ID_LENGTH).min(1, { error: 'is empty' }),
    })
    .nullable(),
  // Any number, even one a unit conversion took past the float range: the range is checked
  // below, with one message for every way a time can be wrong.
  occurredAt: z.custom<number>((value) => typeof value === 'number').nullable(),
});

/** The events of one request, and the latest time one of them may say it happened. */
const batchSchema = z
  .object({ latest: z.number(), aheadMs: z.number(), events: z.array(eventSchema) })
  .superRefine(({ latest, aheadMs, events }, ctx) => {
    for (const [index, { occurredAt }] of events.entries()) {
      if (occurredAt === null) continue;
      const inRange = occurredAt >= EARLIEST_EVENT_MS && occurredAt <= latest;
      if (Number.isSafeInteger(occurredAt) && inRange) continue;
      ctx.addIssue({
        code: 'custom',
        path: ['events', index, 'occurredAt'],
        message:
          `${describeTime(occurredAt)} is not a time from ${new Date(EARLIEST_EVENT_MS).toISOString()} ` +
          `to ${aheadMs / 1000} s after the request was received`,
      });
    }
  });

/** A time for a problem: ISO 8601 when it is a whole millisecond Date can show, else the number. */
function describeTime(ms: number): string {
  const date = new Date(ms);
  return Number.isInteger(ms) && !Number.isNaN(date.getTime()) ? date.toISOString() : `${ms} ms`;
}

/** What an event's fields are checked against. */
export interface EventLimits {
  /** When the request was received, epoch ms. */
  readonly receivedAt: number;
  /**
   * How far ahead of `receivedAt` an event may say it happened, in ms: the source's allowance for
   * clock skew. A time further ahead would make every later event of its record look older.
   */
  readonly aheadMs: number;
  /** Where the scheme reads each field, to name it in a problem (else the field's own name). */
  readonly fields?: Partial<Readonly<Record<EventField, string>>> | undefined;
}

/**
 * The events a scheme identified, checked for what their columns hold on SQLite and PostgreSQL
 * alike, with their dedup keys made storable (`storableKey`). Throws `malformed-body` (400)
 * listing each field that is not, by the name the payload gives it: an id, type or record part
 * that is too long or contains NUL or a lone surrogate, an empty id, or a time that is not a
 * whole millisecond from `EARLIEST_EVENT_MS` to `aheadMs` after `receivedAt`.
 */
export function checkEvents(
  events: readonly EventIdentity[],
  limits: EventLimits,
): EventIdentity[] {
  const parsed = batchSchema.safeParse({
    latest: limits.receivedAt + limits.aheadMs,
    aheadMs: limits.aheadMs,
    events,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const [, index, ...field] = issue.path;
      return `${nameOf(events[Number(index)], field.join('.'), limits)}: ${issue.message}`;
    });
    throw malformed(problems.join('; '), undefined, { problems });
  }
  return events.map((event) => ({ ...event, dedupKey: storableKey(event.dedupKey) }));
}

/** `occurredAt` of item 2 as the payload names it: `item 2 occurredAt`, or `created`. */
function nameOf(event: EventIdentity | undefined, field: string, limits: EventLimits): string {
  const name = limits.fields?.[field as EventField] ?? field;
  return event === undefined || event.itemIndex === null ? name : `item ${event.itemIndex} ${name}`;
}

/**
 * A dedup key as stored: itself when the unique index holds it as given, else `sha256:` and the
 * hex SHA-256 of its UTF-16 code units (lossless for any string). So a long key (HubSpot's
 * includes the property value) is still told apart from every other, and stored.
 */
export function storableKey(key: string): string {
  if (key.length <= MAX_ID_LENGTH && !key.includes('\u0000') && key.isWellFormed()) {
    return key;
  }
  return `sha256:${createHash('sha256').update(Buffer.from(key, 'utf16le')).digest('hex')}`;
}
