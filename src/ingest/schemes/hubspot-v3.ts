import { parseIntegerHeader, readNonEmptyHeader, rejected } from './headers.js';
import { signedByAnyKey } from './hmac.js';
import { idText, isJsonObject, type JsonObject, malformed, parseJsonBody } from './payload.js';
import type {
  EventIdentity,
  SchemeOptions,
  VerifyResult,
  WebhookRequest,
  WebhookScheme,
} from './scheme.js';
import { checkTimestamp } from './tolerance.js';

// The characters HubSpot's v3 documentation says to decode in the URI before signing; every
// other escape (e.g. %20, %25) stays as it is.
const DOCUMENTED_ESCAPES = /%(?:3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;

/** The URI as HubSpot signs it: the documented escapes decoded, nothing else touched. */
export function hubspotSignedUri(url: string): string {
  return url.replace(DOCUMENTED_ESCAPES, (sequence) => decodeURIComponent(sequence));
}

/**
 * HubSpot signature v3: base64 HMAC-SHA256, keyed with the app's client secret as UTF-8, over
 * method + URI + body + timestamp with no separators. The URI is `request.url` (the full URL
 * HubSpot called) after `hubspotSignedUri`. `X-HubSpot-Request-Timestamp` is in milliseconds and
 * only its age is checked, as HubSpot documents. Versions 1 and 2 (`X-HubSpot-Signature`, no
 * timestamp) are not accepted.
 */
function verify(
  request: WebhookRequest,
  secrets: readonly string[],
  options: SchemeOptions,
  nowMs: number,
): VerifyResult {
  const signature = readNonEmptyHeader(request, 'x-hubspot-signature-v3');
  if (signature === undefined) {
    return rejected('signature-missing', 'no x-hubspot-signature-v3 header');
  }
  const timestamp = readNonEmptyHeader(request, 'x-hubspot-request-timestamp');
  if (timestamp === undefined) {
    return rejected('signature-invalid', 'no x-hubspot-request-timestamp header');
  }
  const signedAtMs = parseIntegerHeader(timestamp);
  if (signedAtMs === null) return rejected('signature-invalid', 'timestamp is not integer ms');
  const signed = [`${request.method}${hubspotSignedUri(request.url)}`, request.body, timestamp];
  if (!signedByAnyKey(secrets, signed, [signature], 'base64')) {
    return rejected('signature-invalid', 'signature does not match');
  }
  return checkTimestamp(signedAtMs, nowMs, options, 'past-only');
}

/**
 * The record type: `contact.propertyChange` → `contact`; the generic `object.*` format names the
 * type in `objectTypeId` (e.g. `2-123`).
 */
function recordType(subscriptionType: string, item: JsonObject): string {
  const [prefix = subscriptionType] = subscriptionType.split('.', 1);
  if (prefix !== 'object') return prefix;
  return idText(item.objectTypeId) ?? prefix;
}

/** An id field as text; throws `malformed-body` naming the item when it is missing. */
function requiredId(item: JsonObject, key: string, index: number): string {
  const text = idText(item[key]);
  if (text === null) throw malformed(`item ${index}: "${key}" is missing or not an id`);
  return text;
}

/**
 * The dedup key of one item. HubSpot says `eventId` alone is not guaranteed unique, so the key
 * is a composite; `attemptNumber` is left out because it grows on every retry of the same event.
 * JSON of a fixed-length array keeps the parts apart whatever characters they contain; ids are
 * text so that `123` and `"123"` are the same id.
 */
function dedupKeyOf(item: JsonObject, index: number, subscriptionType: string): string {
  const parts = [
    requiredId(item, 'portalId', index),
    subscriptionType,
    idText(item.objectId),
    requiredId(item, 'eventId', index),
    item.occurredAt,
    idText(item.propertyName),
    item.propertyValue ?? null,
  ];
  return JSON.stringify(parts);
}

function identifyItem(item: unknown, index: number): EventIdentity {
  if (!isJsonObject(item)) throw malformed(`item ${index} is not an object`);
  const subscriptionType = item.subscriptionType;
  if (typeof subscriptionType !== 'string' || subscriptionType === '') {
    throw malformed(`item ${index}: "subscriptionType" is missing`);
  }
  const occurredAt = item.occurredAt;
  if (typeof occurredAt !== 'number' || !Number.isFinite(occurredAt)) {
    throw malformed(`item ${index}: "occurredAt" is not epoch milliseconds`);
  }
  const objectId = idText(item.objectId);
  return {
    providerEventId: requiredId(item, 'eventId', index),
    dedupKey: dedupKeyOf(item, index, subscriptionType),
    type: subscriptionType,
    // associationChange events name two objects (fromObjectId/toObjectId) and no objectId.
    record: objectId === null ? null : { type: recordType(subscriptionType, item), id: objectId },
    occurredAt,
    itemIndex: index,
  };
}

/**
 * One event per element of the JSON array body, `itemIndex` = its position. providerEventId =
 * `eventId`; type = `subscriptionType`; record = its object type and `objectId`; occurredAt =
 * `occurredAt` (ms). An empty array or a non-array body is malformed.
 */
function identify(request: WebhookRequest): EventIdentity[] {
  const payload = parseJsonBody(request.body);
  if (!Array.isArray(payload)) throw malformed('HubSpot body is not a JSON array');
  if (payload.length === 0) throw malformed('HubSpot body is an empty array');
  return payload.map(identifyItem);
}

/** HubSpot app webhooks with signature v3 (`X-HubSpot-Signature-v3`). */
export const hubspotV3: WebhookScheme = {
  name: 'hubspot-v3',
  verify,
  identify,
  fields: {
    providerEventId: 'eventId',
    type: 'subscriptionType',
    'record.type': 'subscriptionType or objectTypeId',
    'record.id': 'objectId',
    occurredAt: 'occurredAt',
  },
};
