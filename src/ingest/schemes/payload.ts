import { createHash } from 'node:crypto';
import { AppError } from '../../errors.js';
import { MAX_JSON_DEPTH, nestingDepth } from '../../json-depth.js';

/** A JSON object as parsed. */
export type JsonObject = Record<string, unknown>;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The AppError for a body that is not what the provider sends (HTTP 400). */
export function malformed(
  message: string,
  cause?: unknown,
  details?: Record<string, unknown>,
): AppError {
  return new AppError('malformed-body', 400, message, { cause, ...(details ? { details } : {}) });
}

/** Hex SHA-256 of the raw body: the identity of a payload that carries no id of its own. */
export function contentHash(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * The body parsed as UTF-8 JSON; throws `malformed-body` when it is not, or when it nests deeper
 * than `MAX_JSON_DEPTH`.
 */
export function parseJsonBody(body: Buffer): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(body);
  } catch (error) {
    throw malformed('body is not valid UTF-8', error);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (error) {
    throw malformed('body is not valid JSON', error);
  }
  return boundedDepth(payload);
}

/**
 * The body as JSON when it is JSON, else undefined (a sender with no fixed schema need not send
 * JSON); JSON nested too deep is `malformed-body` all the same, as `parseJsonBody` has it.
 */
export function parseJsonIfAny(body: Buffer): unknown {
  let payload: unknown;
  try {
    payload = JSON.parse(strictUtf8.decode(body));
  } catch {
    return undefined;
  }
  return boundedDepth(payload);
}

function boundedDepth(payload: unknown): unknown {
  if (nestingDepth(payload, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw malformed(`body nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep`);
  }
  return payload;
}

/** The body as a JSON object; throws `malformed-body` for anything else (an array, a number…). */
export function parseJsonObject(body: Buffer): JsonObject {
  const payload = parseJsonBody(body);
  if (!isJsonObject(payload)) throw malformed('body is not a JSON object');
  return payload;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string or a number as text (providers send ids as either), else null. */
export function idText(value: unknown): string | null {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** `payload[key]` when it is a string, null when absent; throws when it is something else. */
export function optionalString(payload: JsonObject, key: string): string | null {
  const value = payload[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw malformed(`"${key}" is not a string`);
  return value;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;

/** Epoch milliseconds of an ISO-8601 date-time with an offset, else null. */
export function parseIsoTime(text: string): number | null {
  if (!ISO_8601.test(text)) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** `payload[key]` as epoch ms when it is an ISO-8601 string, null when absent; else throws. */
export function optionalIsoTime(payload: JsonObject, key: string): number | null {
  const text = optionalString(payload, key);
  if (text === null) return null;
  const ms = parseIsoTime(text);
  if (ms === null) throw malformed(`"${key}" is not an ISO-8601 date-time`);
  return ms;
}
