import { rejected, VERIFIED } from './headers.js';
import { type DigestEncoding, type HmacAlgorithm, signedByAnyKey } from './hmac.js';
import type { VerifyResult, WebhookRequest } from './scheme.js';

/**
 * The check GitHub, Intercom and the generic hmac-sha256 scheme share: a header value written
 * `<prefix><digest>`, where the digest is an HMAC of the raw body under one of the secrets.
 */
export function verifyPrefixedBodyHmac(
  request: WebhookRequest,
  secrets: readonly string[],
  header: string,
  prefix: string,
  encoding: DigestEncoding,
  algorithm: HmacAlgorithm = 'sha256',
): VerifyResult {
  if (!header.startsWith(prefix)) return rejected('signature-invalid', `no ${prefix} prefix`);
  const digest = header.slice(prefix.length);
  if (!signedByAnyKey(secrets, [request.body], [digest], encoding, algorithm)) {
    return rejected('signature-invalid', 'signature does not match');
  }
  return VERIFIED;
}
