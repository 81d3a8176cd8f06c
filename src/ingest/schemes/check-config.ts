import { salesforceId15 } from './salesforce-outbound.js';
import type { SchemeName, SchemeOptions } from './scheme.js';
import { decodeStandardWebhooksSecret } from './standard-webhooks.js';

/**
 * What is wrong with a configured secret for `scheme`, or null when it is usable. For config
 * validation at start-up: verify() never matches an empty or undecodable secret, but a source
 * whose only secret is unusable should not start at all.
 */
export function checkSecret(scheme: SchemeName, secret: string): string | null {
  if (secret === '') return 'is empty';
  // A pasted secret with a newline signs differently from the real one and fails every request.
  if (secret.trim() !== secret) return 'has leading or trailing whitespace';
  if (scheme === 'standard-webhooks' && decodeStandardWebhooksSecret(secret) === null) {
    return 'is not a base64 key (whsec_<base64>)';
  }
  if (scheme === 'basic-auth' && !secret.includes(':')) return 'is not user:password';
  if (scheme === 'salesforce-outbound' && salesforceId15(secret) === null) {
    return 'is not a 15- or 18-character Salesforce org id';
  }
  return null;
}

/** What is wrong with a source's scheme options, or null when they are usable. */
export function checkSchemeOptions(scheme: SchemeName, options: SchemeOptions): string | null {
  if (!Number.isFinite(options.toleranceSeconds) || options.toleranceSeconds < 0) {
    return 'toleranceSeconds must be a non-negative number of seconds';
  }
  if (scheme === 'hmac-sha256') return checkHmacSha256Options(options);
  if (scheme === 'header-token' && !options.signatureHeader) {
    return 'the header-token scheme needs signatureHeader';
  }
  return null;
}

// A prefix such as `sha1=` means the sender uses another algorithm; accepting a SHA-256 digest
// in that slot would be the algorithm confusion a verifier must refuse.
const OTHER_ALGORITHM = /md5|sha-?1(?!\d)|sha-?224|sha-?384|sha-?512/i;

function checkHmacSha256Options(options: SchemeOptions): string | null {
  if (!options.signatureHeader) return 'the hmac-sha256 scheme needs signatureHeader';
  if (options.signaturePrefix && OTHER_ALGORITHM.test(options.signaturePrefix)) {
    return `signaturePrefix ${options.signaturePrefix} names another algorithm than SHA-256`;
  }
  return null;
}
