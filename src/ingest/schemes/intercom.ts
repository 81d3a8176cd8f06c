import { verifyPrefixedBodyHmac } from './body-signature.js';
import { readNonEmptyHeader, rejected } from './headers.js';
import { idText, isJsonObject, type JsonObject, malformed, parseJsonObject } from './payload.js';
import type {
  EventIdentity,
  RecordRef,
  VerifyResult,
  WebhookRequest,
  WebhookScheme,
} from './scheme.js';

const PREFIX = 'sha1=';

/**
 * Intercom: `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body>`, keyed with the app's client
 * secret (`hub_secret` on legacy subscriptions) as UTF-8. Only a 40-digit SHA-1 digest can match:
 * a SHA-256 digest in the `sha1=` slot is refused, not checked as SHA-256. Intercom signs no
 * timestamp, so replays are caught by deduplication on the notification id only.
 */
function verify(request: WebhookRequest, secrets: readonly string[]): VerifyResult {
  const header = readNonEmptyHeader(request, 'x-hub-signature');
  if (header === undefined) return rejected('signature-missing', 'no x-hub-signature header');
  return verifyPrefixedBodyHmac(request, secrets, header, PREFIX, 'hex', 'sha1');
}

/** The object the notification is about: `data.item` `type` + `id` (a user, a conversation…). */
function recordOf(payload: JsonObject): RecordRef | null {
  const item = isJsonObject(payload.data) ? payload.data.item : undefined;
  if (!isJsonObject(item)) return null;
  const type = idText(item.type);
  const id = idText(item.id);
  return type !== null && id !== null ? { type, id } : null;
}

/**
 * One event: id and dedup key = the notification `id` (unchanged on redelivery); type = `topic`
 * (`user.created`); record from `data.item`; occurredAt = `created_at` (epoch seconds) when
 * present. The body must be a JSON object with an `id`.
 */
function identify(request: WebhookRequest): EventIdentity[] {
  const payload = parseJsonObject(request.body);
  const id = idText(payload.id);
  if (id === null) throw malformed('no notification "id"');
  const createdAt = payload.created_at;
  return [
    {
      providerEventId: id,
      dedupKey: id,
      type: typeof payload.topic === 'string' ? payload.topic : null,
      record: recordOf(payload),
      occurredAt:
        typeof createdAt === 'number' && Number.isFinite(createdAt) ? createdAt * 1000 : null,
      itemIndex: null,
    },
  ];
}

/** Intercom webhook notifications (HMAC-SHA1 signed). */
export const intercom: WebhookScheme = {
  name: 'intercom',
  verify,
  identify,
  fields: {
    providerEventId: 'id',
    type: 'topic',
    'record.type': 'data.item.type',
    'record.id': 'data.item.id',
    occurredAt: 'created_at',
  },
};
