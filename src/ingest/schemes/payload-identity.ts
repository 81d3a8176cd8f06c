import { contentHash, idText, isJsonObject, type JsonObject, parseJsonIfAny } from './payload.js';
import type { EventIdentity, RecordRef, WebhookScheme } from './scheme.js';

/** Where `identifyCredentialedPayload` reads each field, for problems with them. */
export const CREDENTIALED_PAYLOAD_FIELDS: WebhookScheme['fields'] = {
  providerEventId: 'meta.id',
  type: 'type, or meta.entity and meta.action',
  'record.type': 'record.type or meta.entity',
  'record.id': 'record.id or meta.entity_id',
};

function recordOf(value: unknown): RecordRef | null {
  if (!isJsonObject(value)) return null;
  const type = idText(value.type);
  const id = idText(value.id);
  return type !== null && id !== null ? { type, id } : null;
}

/**
 * The one event of a body from a sender with no fixed schema: id and dedup key = `eventId` when
 * given, else the SHA-256 hex of the body (identical bodies are then the same event); type and
 * record from payload `type` and `record` {type, id} when the body is a JSON object with them.
 * Any body is acceptable, but for JSON nested too deep (`malformed-body`), which is refused as
 * every scheme refuses it.
 */
export function identifyGenericPayload(body: Buffer, eventId?: string): EventIdentity[] {
  const id = eventId ?? contentHash(body);
  const payload = parseJsonIfAny(body);
  const fields = isJsonObject(payload) ? payload : {};
  return [
    {
      providerEventId: id,
      dedupKey: id,
      type: typeof fields.type === 'string' ? fields.type : null,
      record: recordOf(fields.record),
      occurredAt: null,
      itemIndex: null,
    },
  ];
}

/** Pipedrive webhooks v2 put the event's identity in `meta`, marked `version: "2.0"`. */
function pipedriveV2Meta(payload: unknown): JsonObject | null {
  if (!isJsonObject(payload) || !isJsonObject(payload.meta)) return null;
  const meta = payload.meta;
  return meta.version === '2.0' && idText(meta.id) !== null ? meta : null;
}

/**
 * The one event of a body authenticated by a credential rather than a signature (`basic-auth`,
 * `header-token`). A Pipedrive v2 body (`meta.version` "2.0" with a `meta.id`): id and dedup key
 * = `meta.id`, which Pipedrive documents as the dedup key and which stays the same on a retry
 * while `meta.attempt` changes the bytes; type = `meta.entity`.`meta.action` (`deal.change`);
 * record = `meta.entity` + `meta.entity_id`. Anything else: `identifyGenericPayload` with the
 * content hash. Throws only as `identifyGenericPayload` does.
 */
export function identifyCredentialedPayload(body: Buffer): EventIdentity[] {
  const meta = pipedriveV2Meta(parseJsonIfAny(body));
  if (meta === null) return identifyGenericPayload(body);
  const id = idText(meta.id) as string;
  const entity = idText(meta.entity);
  const action = idText(meta.action);
  const entityId = idText(meta.entity_id);
  return [
    {
      providerEventId: id,
      dedupKey: id,
      type: entity !== null && action !== null ? `${entity}.${action}` : null,
      record: entity !== null && entityId !== null ? { type: entity, id: entityId } : null,
      occurredAt: null,
      itemIndex: null,
    },
  ];
}
