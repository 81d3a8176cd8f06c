import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ActionView } from '../actions/action-view.js';
import type { Delivery } from '../dispatch/wire.js';

/** The outcome of an action that waited for an approval, pushed to the same URL as deliveries. */
export interface ActionOutcomeMessage {
  readonly type: 'action.outcome';
  readonly action: ActionView;
}

/** What Airlock pushes to an agent's `deliver.url`: switch on `type`. */
export type PushedMessage = Delivery | ActionOutcomeMessage;

/** A pushed request that is not a genuine, fresh message from Airlock: answer it with 401. */
export class DeliveryVerificationError extends Error {
  override readonly name = 'DeliveryVerificationError';
}

export interface VerifyDeliveryOptions {
  /** How far `webhook-timestamp` may be from now, either way, in seconds. Default 300. */
  readonly toleranceSeconds?: number;
  /** The time to check the timestamp against. Default: the clock. */
  readonly now?: Date;
}

/** Request headers as `fetch` (`Headers`) or `node:http` (`IncomingHttpHeaders`) give them. */
export type DeliveryHeaders = Headers | Readonly<Record<string, string | string[] | undefined>>;

/**
 * Checks a request Airlock pushed to the agent, as Standard Webhooks specifies: the HMAC-SHA256
 * with `secret` (`whsec_<base64>`) over `<webhook-id>.<webhook-timestamp>.<body>` must match one
 * of the `v1,<base64>` signatures in `webhook-signature` (several during a secret rotation), and
 * the timestamp must be within the tolerance. Then parses the body. Pass the body exactly as
 * received: re-serialised JSON does not match. Throws `DeliveryVerificationError`.
 */
export function verifyDelivery(
  secret: string,
  headers: DeliveryHeaders,
  body: string | Buffer,
  options: VerifyDeliveryOptions = {},
): PushedMessage {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!/^\d{1,15}$/.test(timestamp)) {
    throw new DeliveryVerificationError(
      `webhook-timestamp ${JSON.stringify(timestamp)} is not whole seconds since the epoch`,
    );
  }
  const expected = createHmac('sha256', secretKey(secret))
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest();
  const candidates = signatures
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => Buffer.from(entry.slice(3), 'base64'));
  if (candidates.length === 0) {
    throw new DeliveryVerificationError('webhook-signature has no v1 signature');
  }
  if (
    !candidates.some(
      (candidate) => candidate.length === expected.length && timingSafeEqual(candidate, expected),
    )
  ) {
    throw new DeliveryVerificationError(
      'no signature in webhook-signature matches the body with this secret',
    );
  }
  const toleranceSeconds = options.toleranceSeconds ?? 300;
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const age = nowSeconds - Number(timestamp);
  if (age > toleranceSeconds) {
    throw new DeliveryVerificationError(
      `webhook-timestamp is ${age} s old, more than the ${toleranceSeconds} s tolerated (a replay?)`,
    );
  }
  if (-age > toleranceSeconds) {
    throw new DeliveryVerificationError(
      `webhook-timestamp is ${-age} s in the future, more than the ${toleranceSeconds} s tolerated`,
    );
  }
  return parseMessage(body);
}

/** A header's value; several values of one header are joined as one list. */
function header(headers: DeliveryHeaders, name: string): string {
  let value: string | string[] | null | undefined;
  if (isHeaders(headers)) {
    value = headers.get(name);
  } else {
    const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
    value = key === undefined ? undefined : headers[key];
  }
  const text = Array.isArray(value) ? value.join(' ') : value;
  if (!text) throw new DeliveryVerificationError(`the ${name} header is missing`);
  return text.trim();
}

/** Duck-typed: a `Headers` of another fetch implementation is not an instance of the global one. */
function isHeaders(headers: DeliveryHeaders): headers is Headers {
  return typeof (headers as Headers).get === 'function';
}

function secretKey(secret: string): Buffer {
  const encoded = secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
    throw new DeliveryVerificationError('the secret is not a Standard Webhooks secret (whsec_…)');
  }
  return Buffer.from(encoded, 'base64');
}

function parseMessage(body: string | Buffer): PushedMessage {
  let message: unknown;
  try {
    message = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (cause) {
    throw new DeliveryVerificationError('the signed body is not JSON', { cause });
  }
  const type = (message as { type?: unknown } | null)?.type;
  if (type !== 'airlock.delivery' && type !== 'action.outcome') {
    throw new DeliveryVerificationError(
      `the signed body is not an Airlock message (type ${JSON.stringify(type)})`,
    );
  }
  return message as PushedMessage;
}
