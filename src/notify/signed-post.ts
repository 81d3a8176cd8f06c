import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { standardWebhooksHeaders } from '../ingest/index.js';

/** Waits before each retry; after the last the message is given up (and reported). */
const RETRY_DELAYS_MS = [1_000, 5_000, 30_000];
const TIMEOUT_MS = 5_000;

/** One message Airlock sends: where, signed with what, its id and its JSON body. */
export interface SignedMessage {
  readonly url: string;
  /** A Standard Webhooks secret (`whsec_…`). */
  readonly secret: string;
  /** The `webhook-id`: a receiver drops a repeat by it. No `.` (the scheme's delimiter). */
  readonly id: string;
  readonly body: string;
}

/**
 * POSTs `message` signed as Standard Webhooks, retried after 1 s, 5 s and 30 s on a failure or
 * a non-2xx answer; resolves null when delivered, else the last reason. For notifications sent
 * in the background: nothing waits for them, nor fails by them.
 */
export async function postSigned(message: SignedMessage): Promise<string | null> {
  let reason = '';
  for (const delay of [0, ...RETRY_DELAYS_MS]) {
    if (delay > 0) await sleep(delay);
    try {
      const response = await request(message.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...standardWebhooksHeaders(message.secret, message.id, Date.now(), message.body),
        },
        body: message.body,
        headersTimeout: TIMEOUT_MS,
        bodyTimeout: TIMEOUT_MS,
      });
      await response.body.dump();
      if (response.statusCode >= 200 && response.statusCode < 300) return null;
      reason = `HTTP ${response.statusCode}`;
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
    }
  }
  return reason;
}
