import type { SchemeOptions, VerifyFailure, VerifyResult, WebhookRequest } from './scheme.js';

/**
 * A header's value by lower-case `name`. The edge lower-cases header names; a case-insensitive
 * scan backs that up so a caller that forgot cannot turn a signed request into a missing one.
 */
export function readHeader(request: WebhookRequest, name: string): string | undefined {
  const direct = request.headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(request.headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/** A header's value trimmed, or undefined when it is absent or blank. */
export function readNonEmptyHeader(request: WebhookRequest, name: string): string | undefined {
  const value = readHeader(request, name)?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A failed verification. */
export function rejected(code: VerifyFailure, detail: string): VerifyResult {
  return { ok: false, code, detail };
}

/** The one successful verification. */
/**
 * The value of the header a source names in `signatureHeader` (hmac-sha256, header-token), or
 * the rejection when the source names none or the request lacks it.
 */
export function readConfiguredHeader(
  request: WebhookRequest,
  options: SchemeOptions,
): { readonly value: string } | { readonly rejection: VerifyResult } {
  const name = options.signatureHeader?.toLowerCase();
  if (!name)
    return { rejection: rejected('signature-missing', 'the source names no signatureHeader') };
  const value = readNonEmptyHeader(request, name);
  if (value === undefined) return { rejection: rejected('signature-missing', `no ${name} header`) };
  return { value };
}

export const VERIFIED: VerifyResult = Object.freeze({ ok: true });

const UNSIGNED_INTEGER = /^\d{1,16}$/;

/** A header value holding a non-negative integer (seconds or milliseconds), else null. */
export function parseIntegerHeader(value: string): number | null {
  return UNSIGNED_INTEGER.test(value) ? Number(value) : null;
}
