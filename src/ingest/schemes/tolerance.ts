import { rejected, VERIFIED } from './headers.js';
import type { SchemeOptions, VerifyResult } from './scheme.js';

/** The tolerance a source gets when its config names none, in seconds. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Which side of now a signed timestamp may stray to by up to the tolerance: `both` rejects a
 * timestamp too far in the past or the future; `past-only` rejects only one that is too old
 * (HubSpot documents an age check and nothing else).
 */
export type SkewDirection = 'both' | 'past-only';

/**
 * Accepts a signed timestamp within `options.toleranceSeconds` of `nowMs`; exactly at the
 * tolerance is still accepted, one millisecond beyond is not.
 */
export function checkTimestamp(
  signedAtMs: number,
  nowMs: number,
  options: SchemeOptions,
  direction: SkewDirection,
): VerifyResult {
  const toleranceMs = options.toleranceSeconds * 1000;
  const ageMs = nowMs - signedAtMs;
  if (ageMs > toleranceMs) {
    return rejected('timestamp-out-of-tolerance', `signed ${ageMs / 1000} s ago`);
  }
  if (direction === 'both' && -ageMs > toleranceMs) {
    return rejected('timestamp-out-of-tolerance', `signed ${-ageMs / 1000} s in the future`);
  }
  return VERIFIED;
}
