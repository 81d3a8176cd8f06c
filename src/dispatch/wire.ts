import { z } from 'zod';

/**
 * What an agent receives and sends back on the delivery API: the one definition the routes
 * parse with, the OpenAPI document shows and the SDK's types come from.
 */

const recordRef = z.strictObject({ system: z.string(), type: z.string(), id: z.string() });

/** One inbox event as delivered to an agent. */
export const deliveredEventSchema = z.strictObject({
  id: z.string().describe('The inbox event id (`evt_…`); name it in `basis.events`.'),
  source: z.string(),
  type: z.string().nullable(),
  /** ISO 8601; when the provider says it happened. */
  occurredAt: z.string().nullable(),
  receivedAt: z.string(),
  /** The event's JSON payload as the provider sent it; null if it was not JSON. */
  payload: z.unknown(),
});

/** An event of the record since the last delivery that was not handed over as news. */
export const skippedEventSchema = z.strictObject({
  id: z.string(),
  type: z.string().nullable(),
  /** `echo`: caused by an Airlock action (`echoOf`); `superseded`: older than one delivered. */
  status: z.enum(['echo', 'superseded']),
  echoOf: z.string().nullable(),
});

/** The record as read through its connector when the delivery was handed out. */
export const deliveryContextSchema = z.strictObject({
  /** The record's fields now; null when it does not exist or has no connector. */
  record: z.record(z.string(), z.unknown()).nullable(),
  revision: z.string().nullable(),
  readAt: z.string(),
  /** Events of this record since the last delivery to this agent that are not in `events`. */
  skipped: z.array(skippedEventSchema),
  /** Why `record` is null, when it is. */
  note: z.string().optional(),
});

/**
 * One delivery: the next events of one record, oldest first, with the record as it is now.
 * Acknowledge it by `id` (`POST /v1/events/{id}/ack`); the record's next delivery waits for it.
 */
export const deliverySchema = z.strictObject({
  type: z.literal('airlock.delivery'),
  id: z.string().describe('The delivery id (`dlv_…`): ack or nack it by this id.'),
  agent: z.string(),
  record: recordRef.nullable(),
  events: z.array(deliveredEventSchema).min(1),
  context: deliveryContextSchema,
  /** What to send back as a proposal's `basis` when deciding on this delivery. */
  basis: z.strictObject({ revision: z.string().optional(), events: z.array(z.string()) }),
  /** 1 on the first hand-over, then counting. */
  attempt: z.number().int(),
  /** ISO 8601; unacknowledged by then, it is offered again (pull only). */
  leaseUntil: z.string().nullable(),
});

export type DeliveredEvent = z.output<typeof deliveredEventSchema>;
export type SkippedEvent = z.output<typeof skippedEventSchema>;
export type DeliveryContext = z.output<typeof deliveryContextSchema>;
export type Delivery = z.output<typeof deliverySchema>;

/** `POST /v1/events/lease`. */
export const leaseRequestSchema = z.strictObject({
  /** Most deliveries handed out; each is one record's next events. */
  max: z.number().int().min(1).max(100).default(10),
  /** How long the agent has to ack before the delivery is offered again. */
  visibilityMs: z.number().int().min(1_000).max(43_200_000).default(30_000),
});
export const leaseResponseSchema = z.strictObject({ deliveries: z.array(deliverySchema) });

/** `POST /v1/events/{id}/ack`. */
export const ackResponseSchema = z.strictObject({
  delivery: z.string(),
  status: z.literal('acked'),
  events: z.array(z.string()),
});

/** `POST /v1/events/{id}/nack`: give it back, to be offered again after `delayMs`. */
export const nackRequestSchema = z.strictObject({
  /** At most an hour, the longest a delivery waits between attempts (it was cut to that). */
  delayMs: z.number().int().min(0).max(3_600_000).optional(),
  reason: z
    .string()
    .max(2_000)
    .refine((value) => !value.includes('\u0000'), 'must not contain a NUL character')
    .optional(),
});
export const nackResponseSchema = z.strictObject({
  delivery: z.string(),
  /** `dead` once the attempts ran out: the record's next delivery goes ahead. */
  status: z.enum(['pending', 'dead']),
  nextAttemptAt: z.string().nullable(),
});

/** `GET /v1/records/{system}/{type}/{id}`: the record as it is now, for an agent. */
export const recordViewSchema = z.strictObject({
  record: recordRef,
  revision: z.string(),
  fields: z.record(z.string(), z.unknown()),
  readAt: z.string(),
});
export type RecordView = z.output<typeof recordViewSchema>;

export type LeaseRequest = z.input<typeof leaseRequestSchema>;
export type NackRequest = z.input<typeof nackRequestSchema>;
export type AckResponse = z.output<typeof ackResponseSchema>;
export type NackResponse = z.output<typeof nackResponseSchema>;
