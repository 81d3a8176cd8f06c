import { readConfiguredHeader, rejected, VERIFIED } from './headers.js';
import { CREDENTIALED_PAYLOAD_FIELDS, identifyCredentialedPayload } from './payload-identity.js';
import type {
  EventIdentity,
  SchemeOptions,
  VerifyResult,
  WebhookRequest,
  WebhookScheme,
} from './scheme.js';
import { matchesAnySecret } from './shared-secret.js';

/**
 * A shared token in the header `options.signatureHeader` (required, e.g. `X-Gateway-Token`, set
 * as a custom header on a Freshdesk webhook action), compared in constant time with each secret.
 * Surrounding whitespace in the header is ignored. Nothing is signed: the body and any replay are
 * not protected, only the sender's knowledge of the token (use HTTPS).
 */
function verify(
  request: WebhookRequest,
  secrets: readonly string[],
  options: SchemeOptions,
): VerifyResult {
  const header = readConfiguredHeader(request, options);
  if ('rejection' in header) return header.rejection;
  if (!matchesAnySecret(header.value, secrets))
    return rejected('signature-invalid', 'token does not match');
  return VERIFIED;
}

/** One event, identified as `basic-auth` does (see `identifyCredentialedPayload`). */
function identify(request: WebhookRequest): EventIdentity[] {
  return identifyCredentialedPayload(request.body);
}

/** Requests authenticated by a shared token in a configured header. */
export const headerToken: WebhookScheme = {
  name: 'header-token',
  verify,
  identify,
  fields: CREDENTIALED_PAYLOAD_FIELDS,
  secretHeaders: (options) =>
    options.signatureHeader ? [options.signatureHeader.toLowerCase()] : [],
};
