import { readNonEmptyHeader, rejected } from './headers.js';
import { signedByAnyKey } from './hmac.js';
import {
  contentHash,
  idText,
  isJsonObject,
  type JsonObject,
  malformed,
  optionalIsoTime,
  optionalString,
  parseIsoTime,
  parseJsonObject,
} from './payload.js';
import type {
  EventIdentity,
  RecordRef,
  SchemeOptions,
  VerifyResult,
  WebhookRequest,
  WebhookScheme,
} from './scheme.js';
import { checkTimestamp } from './tolerance.js';

const SUBJECT = /^zen:([^:]+):(.+)$/;
const EVENT_TYPE = 'zen:event-type:';

/**
 * Zendesk: `X-Zendesk-Webhook-Signature` = base64 HMAC-SHA256 over TIMESTAMP + BODY, where
 * TIMESTAMP is the `X-Zendesk-Webhook-Signature-Timestamp` header (ISO-8601) exactly as sent and
 * the key is the signing secret as UTF-8 (not base64-decoded). This is the documented formula;
 * the docs' own example signature only reproduces with BODY + TIMESTAMP, which is not accepted.
 * Zendesk names no replay window; the timestamp is accepted within ±`toleranceSeconds`.
 */
function verify(
  request: WebhookRequest,
  secrets: readonly string[],
  options: SchemeOptions,
  nowMs: number,
): VerifyResult {
  const signature = readNonEmptyHeader(request, 'x-zendesk-webhook-signature');
  if (signature === undefined) {
    return rejected('signature-missing', 'no x-zendesk-webhook-signature header');
  }
  const timestamp = readNonEmptyHeader(request, 'x-zendesk-webhook-signature-timestamp');
  if (timestamp === undefined) {
    return rejected('signature-invalid', 'no x-zendesk-webhook-signature-timestamp header');
  }
  const signedAtMs = parseIsoTime(timestamp);
  if (signedAtMs === null) return rejected('signature-invalid', 'timestamp is not ISO-8601');
  if (!signedByAnyKey(secrets, [timestamp, request.body], [signature], 'base64')) {
    return rejected('signature-invalid', 'signature does not match');
  }
  return checkTimestamp(signedAtMs, nowMs, options, 'both');
}

/** `zen:ticket:35436` → `{ type: 'ticket', id: '35436' }`. */
function recordOfSubject(subject: string | null): RecordRef | null {
  const match = subject === null ? null : SUBJECT.exec(subject);
  return match?.[1] && match[2] ? { type: match[1], id: match[2] } : null;
}

/** An event webhook: the fixed schema with a unique `id`. */
function identifyEvent(payload: JsonObject, id: string): EventIdentity {
  return {
    providerEventId: id,
    dedupKey: id,
    type: optionalString(payload, 'type'),
    record: recordOfSubject(optionalString(payload, 'subject')),
    occurredAt: optionalIsoTime(payload, 'time'),
    itemIndex: null,
  };
}

/** The ticket a trigger body names, as `ticket.id` or `ticket_id`. */
function ticketOf(payload: JsonObject): RecordRef | null {
  const nested = isJsonObject(payload.ticket) ? idText(payload.ticket.id) : null;
  const id = nested ?? idText(payload.ticket_id);
  return id === null ? null : { type: 'ticket', id };
}

/**
 * A trigger or automation webhook: the admin wrote the body, so there is no event id and the
 * content hash stands in. Two identical bodies are therefore the same event; templates should
 * include the ticket id and an update marker (e.g. `{{ticket.updated_at_with_timestamp}}`).
 */
function identifyTrigger(payload: JsonObject, body: Buffer): EventIdentity {
  const hash = contentHash(body);
  return {
    providerEventId: hash,
    dedupKey: hash,
    type: typeof payload.type === 'string' ? payload.type : null,
    record: ticketOf(payload),
    occurredAt: null,
    itemIndex: null,
  };
}

/**
 * Whether the payload is Zendesk's fixed event schema. An `id` alone does not say so: a trigger
 * template may well carry `"id": "{{ticket.id}}"`, and taking that as the event id would make
 * every later update of the ticket a duplicate.
 */
function isEventWebhook(payload: JsonObject): boolean {
  const type = payload.type;
  return payload.id !== undefined && typeof type === 'string' && type.startsWith(EVENT_TYPE);
}

/**
 * One event. Event webhooks (`type` = `zen:event-type:…` with an `id`): id and dedup key =
 * payload `id`, type = `type`, record from `subject`, occurredAt = `time`. Anything else is a
 * trigger webhook: see `identifyTrigger`. The body must be a JSON object; an empty body (a
 * GET/DELETE trigger) names no event and is malformed.
 */
function identify(request: WebhookRequest): EventIdentity[] {
  if (request.body.length === 0) throw malformed('empty body: nothing identifies the event');
  const payload = parseJsonObject(request.body);
  if (!isEventWebhook(payload)) return [identifyTrigger(payload, request.body)];
  const id = idText(payload.id);
  if (id === null) throw malformed('"id" of a Zendesk event is not a string');
  return [identifyEvent(payload, id)];
}

/** Zendesk webhooks, both event subscriptions and trigger/automation webhooks. */
export const zendesk: WebhookScheme = {
  name: 'zendesk',
  verify,
  identify,
  fields: {
    providerEventId: 'id',
    type: 'type',
    'record.type': 'subject',
    'record.id': 'subject or ticket.id',
    occurredAt: 'time',
  },
};
