import { parseIntegerHeader, readHeader, readNonEmptyHeader, rejected } from './headers.js';
import { computeHmacSha256, signedByAnyKey } from './hmac.js';
import {
  idText,
  isJsonObject,
  type JsonObject,
  malformed,
  optionalIsoTime,
  optionalString,
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

const SECRET_PREFIX = 'whsec_';
const SECRET_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** One entry of a `webhook-signature` header: `<version>,<signature>`. */
export interface VersionedSignature {
  readonly version: string;
  readonly signature: string;
}

/**
 * The HMAC key of a Standard Webhooks secret: `whsec_` stripped, the rest base64-decoded.
 * Unpadded base64 is accepted (as the Python library does since PR #265); null when the secret
 * is empty or not base64, so it can never match.
 */
export function decodeStandardWebhooksSecret(secret: string): Buffer | null {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!SECRET_BASE64.test(encoded)) return null;
  const key = Buffer.from(encoded, 'base64');
  return key.length > 0 ? key : null;
}

/**
 * The headers that sign `body` as Standard Webhooks v1 with `secret` (`whsec_…`): for messages
 * Airlock sends. Throws when the secret is not one.
 */
export function standardWebhooksHeaders(
  secret: string,
  id: string,
  nowMs: number,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const key = decodeStandardWebhooksSecret(secret);
  if (!key) throw new Error('not a Standard Webhooks secret (whsec_ and base64)');
  const timestamp = String(Math.floor(nowMs / 1000));
  const signature = computeHmacSha256(key, [`${id}.${timestamp}.`, body]).toString('base64');
  return {
    'webhook-id': id,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature}`,
  };
}

/** A signature's version identifier: `v1`, `v1a`. */
const VERSION = /^v\d+[a-z]*$/;

/**
 * The `version,signature` entries of a `webhook-signature` header, space-separated. The header
 * sent on two lines arrives joined with ", " (RFC 9110), and a signature (base64) holds no
 * comma: every comma or space separates, and each version is paired with what follows it.
 * Anything else (a version with no signature) is skipped.
 */
export function parseSignatureHeader(value: string): VersionedSignature[] {
  const tokens = value.split(/[\s,]+/).filter((token) => token !== '');
  const entries: VersionedSignature[] = [];
  for (let at = 0; at < tokens.length; at += 1) {
    const [version, signature] = [tokens[at] as string, tokens[at + 1]];
    if (!VERSION.test(version) || signature === undefined || VERSION.test(signature)) continue;
    entries.push({ version, signature });
    at += 1;
  }
  return entries;
}

/**
 * Standard Webhooks v1: HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}`, header
 * `webhook-signature: v1,<base64> …`. Timestamp in integer seconds, accepted within
 * ±`toleranceSeconds`. A `webhook-id` containing `.` is refused: with `.` as the delimiter two
 * different messages could share one signature.
 */
function verify(
  request: WebhookRequest,
  secrets: readonly string[],
  options: SchemeOptions,
  nowMs: number,
): VerifyResult {
  const header = readNonEmptyHeader(request, 'webhook-signature');
  if (header === undefined) return rejected('signature-missing', 'no webhook-signature header');
  const id = readNonEmptyHeader(request, 'webhook-id');
  if (id === undefined) return rejected('signature-invalid', 'no webhook-id header');
  if (id.includes('.')) return rejected('signature-invalid', 'webhook-id contains "."');
  const timestamp = readNonEmptyHeader(request, 'webhook-timestamp');
  if (timestamp === undefined) return rejected('signature-invalid', 'no webhook-timestamp header');
  const seconds = parseIntegerHeader(timestamp);
  if (seconds === null) {
    return rejected('signature-invalid', 'webhook-timestamp is not integer seconds');
  }
  // Other versions (v1a is asymmetric) are skipped so a sender may add them without breaking us.
  const candidates = parseSignatureHeader(header)
    .filter((entry) => entry.version === 'v1')
    .map((entry) => entry.signature);
  if (candidates.length === 0) return rejected('signature-invalid', 'no v1 signature');
  const keys = secrets.map(decodeStandardWebhooksSecret).filter((key) => key !== null);
  const signed = [`${id}.${timestamp}.`, request.body];
  if (!signedByAnyKey(keys, signed, candidates, 'base64')) {
    return rejected('signature-invalid', 'no v1 signature matches');
  }
  return checkTimestamp(seconds * 1000, nowMs, options, 'both');
}

/** `data.record` {type, id} when present, else `data.type` + `data.id`, else null. */
function recordOf(payload: JsonObject): RecordRef | null {
  const data = payload.data;
  if (!isJsonObject(data)) return null;
  const nested = data.record;
  if (isJsonObject(nested)) {
    const type = idText(nested.type);
    const id = idText(nested.id);
    if (type !== null && id !== null) return { type, id };
  }
  const type = idText(data.type);
  const id = idText(data.id);
  return type !== null && id !== null ? { type, id } : null;
}

/**
 * One event: id and dedup key = `webhook-id`; type = payload `type`; occurredAt = payload
 * `timestamp` (ISO-8601), else the signed `webhook-timestamp`. An empty body is a valid message
 * with no payload (the spec allows it); any other body must be a JSON object.
 */
function identify(request: WebhookRequest): EventIdentity[] {
  const id = readNonEmptyHeader(request, 'webhook-id');
  if (id === undefined) throw malformed('no webhook-id header');
  const seconds = parseIntegerHeader(readHeader(request, 'webhook-timestamp')?.trim() ?? '');
  const headerTime = seconds === null ? null : seconds * 1000;
  const payload = request.body.length === 0 ? {} : parseJsonObject(request.body);
  return [
    {
      providerEventId: id,
      dedupKey: id,
      type: optionalString(payload, 'type'),
      record: recordOf(payload),
      occurredAt: optionalIsoTime(payload, 'timestamp') ?? headerTime,
      itemIndex: null,
    },
  ];
}

/** Standard Webhooks (standardwebhooks.com), symmetric `v1` signatures with `whsec_` secrets. */
export const standardWebhooks: WebhookScheme = {
  name: 'standard-webhooks',
  verify,
  identify,
  fields: {
    providerEventId: 'webhook-id header',
    type: 'type',
    'record.type': 'data.record.type or data.type',
    'record.id': 'data.record.id or data.id',
    occurredAt: 'timestamp',
  },
};
