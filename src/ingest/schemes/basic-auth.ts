import { readNonEmptyHeader, rejected, VERIFIED } from './headers.js';
import { CREDENTIALED_PAYLOAD_FIELDS, identifyCredentialedPayload } from './payload-identity.js';
import type { EventIdentity, VerifyResult, WebhookRequest, WebhookScheme } from './scheme.js';
import { matchesAnySecret } from './shared-secret.js';

// RFC 7235: the scheme word is case-insensitive and separated from its token by one or more
// spaces; RFC 7617: the token is the base64 of `user-id:password`.
const BASIC = /^basic +([A-Za-z0-9+/]+={0,2})$/i;
const COLON = 0x3a;

/** The bytes of canonical base64 (the one spelling that round-trips), else null. */
function decodeCanonicalBase64(text: string): Buffer | null {
  if (text.length % 4 !== 0) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}

/**
 * HTTP Basic (Pipedrive, Freshdesk): `Authorization: Basic base64(user:password)`, compared in
 * constant time with each secret, written `user:password`. The scheme word may be in any case
 * and followed by several spaces (`basic  …` is accepted). A user-id cannot contain a colon, so
 * the credentials split on the first one: `pd:a:b:c` is user `pd`, password `a:b:c`. Comparing
 * the whole `user:password` bytes is the same as comparing both halves, since both sides split
 * at their first colon. Nothing is signed: the body and any replay are not protected, only the
 * sender's knowledge of the credentials (use HTTPS).
 */
function verify(request: WebhookRequest, secrets: readonly string[]): VerifyResult {
  const header = readNonEmptyHeader(request, 'authorization');
  if (header === undefined) return rejected('signature-missing', 'no authorization header');
  const token = BASIC.exec(header)?.[1];
  if (token === undefined) return rejected('signature-invalid', 'not Basic credentials');
  const credentials = decodeCanonicalBase64(token);
  if (credentials === null) return rejected('signature-invalid', 'credentials are not base64');
  if (!credentials.includes(COLON)) {
    return rejected('signature-invalid', 'credentials are not user:password');
  }
  if (!matchesAnySecret(credentials, secrets)) {
    return rejected('signature-invalid', 'credentials do not match');
  }
  return VERIFIED;
}

/**
 * One event, see `identifyCredentialedPayload`: a Pipedrive v2 body by `meta.id`, anything else
 * by the SHA-256 content hash of the body (identical bodies are the same event), type and record
 * from payload `type` and `record` {type, id}. Never throws.
 */
function identify(request: WebhookRequest): EventIdentity[] {
  return identifyCredentialedPayload(request.body);
}

/** Requests authenticated by HTTP Basic credentials instead of a signature. */
export const basicAuth: WebhookScheme = {
  name: 'basic-auth',
  verify,
  identify,
  fields: CREDENTIALED_PAYLOAD_FIELDS,
};
