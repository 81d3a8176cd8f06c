import { hash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';

/** SHA-256 hex of the canonical JSON: what makes two requests "the same body". */
export function fingerprint(value: unknown): string {
  return hash('sha256', canonicalJson(value));
}
