import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** The secret test configs give their `demo` Standard Webhooks source. */
export const DEMO_SECRET = 'whsec_dGVzdC1zZWNyZXQtZm9yLWFpcmxvY2stdGVzdHM=';

/**
 * Headers of a Standard Webhooks delivery, signed by the official `standardwebhooks` library, so
 * Airlock's verifier is checked against an independent signer.
 */
export function signStandardWebhook(
  body: string,
  id: string,
  options: { secret?: string; timestamp?: Date } = {},
): Record<string, string> {
  const timestamp = options.timestamp ?? new Date();
  const signature = new Webhook(options.secret ?? DEMO_SECRET).sign(id, timestamp, body);
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
    'webhook-signature': signature,
  };
}

/** A ticket event body in the shape Airlock reads from Standard Webhooks sources. */
export function ticketEventBody(ticketId: string, type = 'ticket.updated'): string {
  return JSON.stringify({
    type,
    timestamp: new Date().toISOString(),
    data: { type: 'ticket', id: ticketId, status: 'open' },
  });
}

/** Headers of a HubSpot v3 request to `url`, signed with `secret` at `timestamp` (epoch ms). */
export function signHubspot(
  url: string,
  body: string,
  secret: string,
  timestamp = Date.now(),
): Record<string, string> {
  const signature = createHmac('sha256', secret)
    .update(`POST${url}${body}${timestamp}`)
    .digest('base64');
  return {
    'content-type': 'application/json',
    'x-hubspot-signature-v3': signature,
    'x-hubspot-request-timestamp': String(timestamp),
  };
}
