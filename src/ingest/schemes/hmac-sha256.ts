import { verifyPrefixedBodyHmac } from './body-signature.js';
import { readConfiguredHeader, readNonEmptyHeader } from './headers.js';
import { identifyGenericPayload } from './payload-identity.js';
import type {
  EventIdentity,
  SchemeOptions,
  VerifyResult,
  WebhookRequest,
  WebhookScheme,
} from './scheme.js';

/**
 * Generic HMAC-SHA256 over the raw body, keyed with the secret as UTF-8, no timestamp. Reads
 * `options.signatureHeader` (required), `options.encoding` (default `hex`) and
 * `options.signaturePrefix` (default none; when set the header must start with it). Without a
 * signed timestamp there is no replay window: deduplication is the only defence against replays.
 */
function verify(
  request: WebhookRequest,
  secrets: readonly string[],
  options: SchemeOptions,
): VerifyResult {
  const configured = readConfiguredHeader(request, options);
  if ('rejection' in configured) return configured.rejection;
  return verifyPrefixedBodyHmac(
    request,
    secrets,
    configured.value,
    options.signaturePrefix ?? '',
    options.encoding ?? 'hex',
  );
}

/**
 * One event: id and dedup key = the `options.eventIdHeader` header when configured and present,
 * else the SHA-256 hex of the body (identical bodies are then the same event). type and record
 * from payload `type` and `record` {type, id} when the body is a JSON object with them. Never
 * throws: any body is acceptable here.
 */
function identify(request: WebhookRequest, options: SchemeOptions): EventIdentity[] {
  const headerName = options.eventIdHeader?.toLowerCase();
  const headerId = headerName ? readNonEmptyHeader(request, headerName) : undefined;
  return identifyGenericPayload(request.body, headerId);
}

/** A plain HMAC-SHA256 of the body in one header, configured per source. */
export const hmacSha256: WebhookScheme = {
  name: 'hmac-sha256',
  verify,
  identify,
  fields: {
    providerEventId: 'eventIdHeader header',
    type: 'type',
    'record.type': 'record.type',
    'record.id': 'record.id',
  },
};
