import { parseIntegerHeader, readNonEmptyHeader, rejected } from './headers.js';
import { signedByAnyKey } from './hmac.js';
import { idText, isJsonObject, type JsonObject, malformed, parseJsonObject } from './payload.js';
import type {
  EventIdentity,
  RecordRef,
  SchemeOptions,
  VerifyResult,
  WebhookRequest,
  WebhookScheme,
} from './scheme.js';
import { checkTimestamp } from './tolerance.js';

/** The parts of a `Stripe-Signature` header that Airlock reads. */
export interface StripeSignatureHeader {
  /** Every `t=` value, in order; a valid header has exactly one. */
  readonly timestamps: string[];
  /** Every `v1=` value, in order. `v0` and unknown schemes are dropped. */
  readonly v1: string[];
}

/** Splits `t=<seconds>,v1=<hex>[,v1=<hex>…][,v0=<hex>]` into its timestamp and v1 signatures. */
export function parseStripeSignatureHeader(value: string): StripeSignatureHeader {
  const timestamps: string[] = [];
  const v1: string[] = [];
  for (const item of value.split(',')) {
    const equals = item.indexOf('=');
    if (equals < 0) continue;
    const key = item.slice(0, equals).trim();
    const text = item.slice(equals + 1).trim();
    if (key === 't') timestamps.push(text);
    // Only v1 counts: accepting v0 (test mode) or an unknown scheme would allow a downgrade.
    else if (key === 'v1') v1.push(text);
  }
  return { timestamps, v1 };
}

/**
 * Stripe: hex HMAC-SHA256 over `${t}.${body}`, keyed with the endpoint secret (`whsec_…`) as
 * UTF-8, not decoded. Valid when any `v1` matches any secret (Stripe signs with both during a
 * secret roll). `t` is in seconds and accepted within ±`toleranceSeconds`: stripe-node checks
 * only the age, but a far-future timestamp is not something Stripe sends.
 */
function verify(
  request: WebhookRequest,
  secrets: readonly string[],
  options: SchemeOptions,
  nowMs: number,
): VerifyResult {
  const header = readNonEmptyHeader(request, 'stripe-signature');
  if (header === undefined) return rejected('signature-missing', 'no stripe-signature header');
  const { timestamps, v1 } = parseStripeSignatureHeader(header);
  const [timestamp] = timestamps;
  if (timestamp === undefined || timestamps.length > 1) {
    return rejected('signature-invalid', 'stripe-signature needs exactly one t=');
  }
  const seconds = parseIntegerHeader(timestamp);
  if (seconds === null) return rejected('signature-invalid', 't= is not integer seconds');
  if (v1.length === 0) return rejected('signature-invalid', 'no v1 signature');
  if (!signedByAnyKey(secrets, [`${timestamp}.`, request.body], v1, 'hex')) {
    return rejected('signature-invalid', 'no v1 signature matches');
  }
  return checkTimestamp(seconds * 1000, nowMs, options, 'both');
}

/** `data.object.object` + `data.object.id`, e.g. `{ type: 'invoice', id: 'in_…' }`. */
function recordOf(payload: JsonObject): RecordRef | null {
  const data = payload.data;
  if (!isJsonObject(data) || !isJsonObject(data.object)) return null;
  const type = idText(data.object.object);
  const id = idText(data.object.id);
  return type !== null && id !== null ? { type, id } : null;
}

/** One event: id and dedup key = payload `id`; type = `type`; occurredAt = `created` × 1000. */
function identify(request: WebhookRequest): EventIdentity[] {
  const payload = parseJsonObject(request.body);
  const id = payload.id;
  if (typeof id !== 'string' || id === '') throw malformed('Stripe event has no string "id"');
  const type = payload.type;
  if (typeof type !== 'string') throw malformed('Stripe event has no string "type"');
  const created = payload.created;
  return [
    {
      providerEventId: id,
      dedupKey: id,
      type,
      record: recordOf(payload),
      occurredAt: typeof created === 'number' && Number.isFinite(created) ? created * 1000 : null,
      itemIndex: null,
    },
  ];
}

/** Stripe webhook endpoints (`Stripe-Signature`). */
export const stripe: WebhookScheme = {
  name: 'stripe',
  verify,
  identify,
  fields: {
    providerEventId: 'id',
    type: 'type',
    'record.type': 'data.object.object',
    'record.id': 'data.object.id',
    occurredAt: 'created',
  },
};
