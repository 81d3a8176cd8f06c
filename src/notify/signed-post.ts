import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { standardWebhooksHeaders } from '../ingest/index.js';
import { outboundAgent, SSRF_REFUSED } from '../net/index.js';

/** Waits before each retry; after the last the message is given up (and reported). */
const RETRY_DELAYS_MS = [1_000, 5_000, 30_000];
const TIMEOUT_MS = 5_000;
/** The longest `Retry-After` honoured. */
const MAX_RETRY_AFTER_MS = 3_600_000;

/** One message Airlock sends: where, signed with what, its id and its JSON body. */
export interface SignedMessage {
  readonly url: string;
  /** A Standard Webhooks secret (`whsec_…`). */
  readonly secret: string;
  /** The `webhook-id`: a receiver drops a repeat by it. No `.` (the scheme's delimiter). */
  readonly id: string;
  readonly body: string;
  /** Allow a private, loopback or link-local target (see `outboundAgent`); false in production. */
  readonly allowPrivateNetwork: boolean;
}

/**
 * The outcome of one POST: the receiver's status (any, 3xx included) with its `Retry-After` in
 * milliseconds (null when absent or unreadable), or why no answer came; `ssrf` when the target
 * address is forbidden, which no retry can change.
 */
export type PostOutcome =
  | { readonly status: number; readonly retryAfterMs: number | null }
  | { readonly error: string; readonly ssrf: boolean };

/**
 * POSTs `message` once, signed as Standard Webhooks, through `outboundAgent`. Redirects are not
 * followed (undici's `request` never does): a 3xx is reported as its status like any other.
 * `timeoutMs` bounds the whole exchange, connecting and the answer's body included, so a caller
 * holding a lease for it knows when it is over.
 */
export async function postSignedOnce(
  message: SignedMessage,
  options: { timeoutMs: number },
): Promise<PostOutcome> {
  try {
    const response = await request(message.url, {
      method: 'POST',
      dispatcher: outboundAgent({ allowPrivateNetwork: message.allowPrivateNetwork }),
      headers: {
        'content-type': 'application/json',
        ...standardWebhooksHeaders(message.secret, message.id, Date.now(), message.body),
      },
      body: message.body,
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    // The status decides; a long answer is not read to its end.
    await response.body.dump({ limit: 64 * 1024 });
    return {
      status: response.statusCode,
      retryAfterMs: parseRetryAfter(response.headers['retry-after'], Date.now()),
    };
  } catch (error) {
    return {
      error: error instanceof Error ? error.message : String(error),
      ssrf: (error as { code?: unknown } | null)?.code === SSRF_REFUSED,
    };
  }
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from `now`, at most an hour. */
function parseRetryAfter(header: string | string[] | undefined, now: number): number | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  const ms = /^\d+$/.test(value) ? Number(value) * 1_000 : Date.parse(value) - now;
  if (Number.isNaN(ms)) return null;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/**
 * POSTs `message` signed as Standard Webhooks (`postSignedOnce`), retried after 1 s, 5 s and
 * 30 s on a failure or a non-2xx answer (a 3xx included: redirects are not followed); resolves
 * null when delivered, else the last reason. A target refused as a forbidden address is not
 * retried. For notifications sent in the background: nothing waits for them, nor fails by them.
 */
export async function postSigned(message: SignedMessage): Promise<string | null> {
  let reason = '';
  for (const delay of [0, ...RETRY_DELAYS_MS]) {
    if (delay > 0) await sleep(delay);
    const outcome = await postSignedOnce(message, { timeoutMs: TIMEOUT_MS });
    if ('error' in outcome) {
      if (outcome.ssrf) return outcome.error;
      reason = outcome.error;
    } else {
      if (outcome.status >= 200 && outcome.status < 300) return null;
      reason = `HTTP ${outcome.status}`;
    }
  }
  return reason;
}
