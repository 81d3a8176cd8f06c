import { createHmac, randomUUID } from 'node:crypto';

/** The Standard Webhooks secret of the benches' `demo` source. */
export const SECRET = 'whsec_YmVuY2gtc2VjcmV0LWZvci1haXJsb2NrLWluZ2VzdA==';
const KEY = Buffer.from(SECRET.slice('whsec_'.length), 'base64');

/** The config of the benches' webhook source, `POST /hooks/demo`. */
export const DEMO_SOURCE = { demo: { scheme: 'standard-webhooks', secrets: [SECRET] } };

/** A signed Standard Webhooks request with a fresh id, as a provider would send it. */
export function signedRequest(): { headers: Record<string, string>; body: string } {
  const id = `msg_${randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({
    type: 'ticket.updated',
    timestamp: new Date().toISOString(),
    data: {
      type: 'ticket',
      id: `T-${id.slice(-6)}`,
      status: 'open',
      subject: 'Where is my order?',
    },
  });
  const signature = createHmac('sha256', KEY).update(`${id}.${timestamp}.${body}`).digest('base64');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,${signature}`,
    },
  };
}
