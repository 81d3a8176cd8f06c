import { rejected, VERIFIED } from './headers.js';
import { malformed } from './payload.js';
import type {
  Acknowledgement,
  EventIdentity,
  RecordRef,
  VerifyResult,
  WebhookRequest,
  WebhookScheme,
} from './scheme.js';
import { matchesAnySecret } from './shared-secret.js';
import { childNamed, parseXml, type XmlElement } from './xml.js';

const ID_15 = /^[A-Za-z0-9]{15}$/;
const ID_18 = /^[A-Za-z0-9]{18}$/;
const CHECKSUM_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The three-character case checksum Salesforce appends to a 15-character id. */
function checksumOf(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk += 1) {
    let bits = 0;
    for (let position = 0; position < 5; position += 1) {
      const char = id15.charAt(chunk * 5 + position);
      if (char >= 'A' && char <= 'Z') bits |= 1 << position;
    }
    suffix += CHECKSUM_ALPHABET.charAt(bits);
  }
  return suffix;
}

/**
 * The case-sensitive 15-character form of a Salesforce id written in its 15- or 18-character
 * form, else null. An 18-character id must carry the checksum of its first 15: `…Cf2PEAS` and
 * `…Cf2P` are the same org, `…Cf2PXXX` is no id at all.
 */
export function salesforceId15(id: string): string | null {
  if (ID_15.test(id)) return id;
  if (!ID_18.test(id)) return null;
  const id15 = id.slice(0, 15);
  return id.slice(15) === checksumOf(id15) ? id15 : null;
}

/** The most `<Notification>`s Salesforce puts in one outbound message. */
const MAX_NOTIFICATIONS = 100;

/** The `notifications` element of an Outbound Messaging envelope; throws when it is not one. */
function readNotifications(body: Buffer): XmlElement {
  const envelope = parseXml(body);
  const soapBody = envelope.localName === 'Envelope' ? childNamed(envelope, 'Body') : undefined;
  const notifications = soapBody ? childNamed(soapBody, 'notifications') : undefined;
  if (!notifications) throw new Error('not a SOAP Envelope/Body/notifications message');
  return notifications;
}

/**
 * Salesforce Outbound Messaging signs nothing. Authenticity is the `<OrganizationId>` of the
 * SOAP body, which must be one of the secrets: the org ids allowed to send here, each in its 15-
 * or 18-character form. Ids are compared case-sensitively on their 15-character form (an 18-
 * character id must carry its valid checksum), in constant time. A missing or blank
 * OrganizationId is `signature-missing`; a body that is not an Outbound Messaging envelope, or
 * another org, is `signature-invalid`. Anyone who knows the org id can pass this check, so
 * serve the endpoint over HTTPS only, and add Salesforce's client certificate or IP ranges in
 * front where possible.
 */
function verify(request: WebhookRequest, secrets: readonly string[]): VerifyResult {
  let notifications: XmlElement;
  try {
    notifications = readNotifications(request.body);
  } catch (error) {
    return rejected('signature-invalid', `not an Outbound Messaging body: ${String(error)}`);
  }
  const orgId = childNamed(notifications, 'OrganizationId')?.text.trim() ?? '';
  if (orgId === '') return rejected('signature-missing', 'no OrganizationId');
  const received = salesforceId15(orgId);
  if (received === null) return rejected('signature-invalid', 'OrganizationId is not an org id');
  const allowed = secrets.map((secret) => salesforceId15(secret) ?? '');
  if (!matchesAnySecret(received, allowed)) {
    return rejected('signature-invalid', 'OrganizationId is not an allowed org');
  }
  return VERIFIED;
}

/** The record a notification carries: the sObject's `xsi:type` (`sf:Account`) and `sf:Id`. */
function recordOf(notification: XmlElement): RecordRef | null {
  const sObject = childNamed(notification, 'sObject');
  if (!sObject) return null;
  const typeAttribute = Object.entries(sObject.attributes).find(
    ([name]) => name === 'type' || name.endsWith(':type'),
  )?.[1];
  const type = typeAttribute?.slice(typeAttribute.indexOf(':') + 1).trim();
  const id = childNamed(sObject, 'Id')?.text.trim();
  return type && id ? { type, id } : null;
}

/**
 * One event per `<Notification>` (up to 100 in a message), `itemIndex` = its position. id and
 * dedup key = the notification `<Id>`, which stays the same on a retry; record = the sObject
 * type + its `<sf:Id>`. Outbound Messaging names no event type, so type is null. Throws
 * `malformed-body` when the body is not an envelope with at least one notification, each with an
 * Id.
 */
function identify(request: WebhookRequest): EventIdentity[] {
  let notifications: XmlElement;
  try {
    notifications = readNotifications(request.body);
  } catch (error) {
    throw malformed('body is not an Outbound Messaging envelope', error);
  }
  const items = notifications.children.filter((child) => child.localName === 'Notification');
  if (items.length === 0) throw malformed('no Notification in the message');
  // Salesforce sends at most 100; the org id that admits a message is no secret, so more is
  // refused rather than stored (thousands of events, each with its audit entry, per request).
  if (items.length > MAX_NOTIFICATIONS) {
    throw malformed(
      `${items.length} Notifications in one message; Salesforce sends at most ${MAX_NOTIFICATIONS}`,
    );
  }
  return items.map((notification, index) => {
    const id = childNamed(notification, 'Id')?.text.trim();
    if (!id) throw malformed(`Notification ${index} has no Id`);
    return {
      providerEventId: id,
      dedupKey: id,
      type: null,
      record: recordOf(notification),
      occurredAt: null,
      itemIndex: index,
    };
  });
}

/** The SOAP answer without which Salesforce retries the message. */
const ACK: Acknowledgement = Object.freeze({
  contentType: 'text/xml; charset=utf-8',
  body:
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>' +
    '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>' +
    '</notificationsResponse></soapenv:Body></soapenv:Envelope>',
});

/** Salesforce Outbound Messaging (SOAP `notifications`), authenticated by organisation id. */
export const salesforceOutbound: WebhookScheme = {
  name: 'salesforce-outbound',
  verify,
  identify,
  fields: {
    providerEventId: 'Notification Id',
    'record.type': 'sObject xsi:type',
    'record.id': 'sObject Id',
  },
  acknowledge: () => ACK,
};
