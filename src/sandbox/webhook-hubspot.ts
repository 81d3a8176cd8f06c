import { createHmac } from 'node:crypto';
import type { AppliedWrite } from './state.js';

/** The portal the sandbox's CRM webhooks name. */
export const HUBSPOT_PORTAL_ID = 62_515;
/** The app the sandbox's CRM webhooks name. */
export const HUBSPOT_APP_ID = 1_000_002;

const SUBSCRIPTION_IDS: Readonly<Record<string, number>> = {
  contact: 1,
  deal: 2,
  note: 3,
  email: 4,
  order: 5,
};

/**
 * HubSpot v3 webhook items for one CRM or order write: a `<type>.creation` item for a create,
 * one `<type>.propertyChange` item per changed property for an update. `changeSource` is
 * `INTEGRATION` with `sourceId` `<actor>` or `<actor>:<action id>` when the request named an
 * actor, `CRM_UI` otherwise. HubSpot sends notes, emails and orders as `object.*` with an
 * `objectTypeId`; the sandbox names the type directly so an event's record is the one a
 * connector reads. `eventId` comes from `nextEventId`; `attemptNumber` is set per attempt.
 */
export function hubspotItems(
  write: AppliedWrite,
  nextEventId: () => number,
): Record<string, unknown>[] {
  const type = write.record.type;
  const base = {
    subscriptionId: SUBSCRIPTION_IDS[type] ?? 0,
    portalId: HUBSPOT_PORTAL_ID,
    appId: HUBSPOT_APP_ID,
    occurredAt: Date.parse(write.at),
    objectId: Number(write.record.id),
    ...sourceOf(write),
  };
  if (write.kind === 'created') {
    return [
      {
        ...base,
        eventId: nextEventId(),
        subscriptionType: `${type}.creation`,
        changeFlag: 'CREATED',
      },
    ];
  }
  return write.changes.map((change) => ({
    ...base,
    eventId: nextEventId(),
    subscriptionType: `${type}.propertyChange`,
    propertyName: change.field,
    propertyValue: propertyText(change.value),
  }));
}

/**
 * Headers of a HubSpot v3 request: base64 HMAC-SHA256 over METHOD + URI + BODY + TIMESTAMP
 * (ms), the URI with the escapes HubSpot documents decoded.
 */
export function hubspotHeaders(
  url: string,
  body: string,
  secret: string,
  timestampMs: number,
): Record<string, string> {
  const timestamp = String(timestampMs);
  const signature = createHmac('sha256', secret)
    .update(`POST${signedUri(url)}${body}${timestamp}`)
    .digest('base64');
  return {
    'content-type': 'application/json',
    'x-hubspot-signature-v3': signature,
    'x-hubspot-signature-version': 'v3',
    'x-hubspot-request-timestamp': timestamp,
  };
}

const DOCUMENTED_ESCAPES = /%(?:3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi;

function signedUri(url: string): string {
  return url.replace(DOCUMENTED_ESCAPES, (sequence) => decodeURIComponent(sequence));
}

function sourceOf(write: AppliedWrite): Record<string, string> {
  if (write.actor === null) return { changeSource: 'CRM_UI' };
  const sourceId = write.actionId === null ? write.actor : `${write.actor}:${write.actionId}`;
  return { changeSource: 'INTEGRATION', sourceId };
}

/** HubSpot sends property values as strings. */
function propertyText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
