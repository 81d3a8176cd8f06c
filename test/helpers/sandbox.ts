import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WriteRequest } from '../../src/connectors/index.js';
import { createSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/index.js';

/** A sandbox listening on a free loopback port. */
export async function startSandbox(
  options: SandboxOptions = {},
): Promise<Sandbox & { url: string }> {
  const sandbox = createSandbox({ webhookRetryDelaysMs: [20, 40, 80], ...options });
  await sandbox.listen(0);
  return sandbox as Sandbox & { url: string };
}

/** An answer as a test reads it. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answer bodies loosely.
  readonly body: any;
}

/** A JSON call over real HTTP. */
export async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, body: parsed };
}

/** One request a receiver got, as a webhook verifier takes it. */
export interface Received {
  readonly method: string;
  /** The full URL called: what HubSpot signs. */
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** A real HTTP server standing in for Airlock's `/hooks/…`, recording what it receives. */
export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Resolves once `count` requests arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/**
 * Starts a receiver. `answer(n)` gives the status of the n-th request (0-based; default 204);
 * `hang` never answers, like a receiver that is stuck.
 */
export async function startReceiver(
  options: {
    answer?: (index: number) => number;
    /** Headers of the n-th answer. */
    headers?: (index: number) => Record<string, string>;
    hang?: boolean;
  } = {},
): Promise<Receiver> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const index = received.length;
      received.push({
        method: request.method ?? 'POST',
        url: `${base}${request.url ?? '/'}`,
        headers: flatten(request.headers),
        body: Buffer.concat(chunks),
      });
      if (options.hang) return;
      response.statusCode = options.answer?.(index) ?? 204;
      for (const [name, value] of Object.entries(options.headers?.(index) ?? {})) {
        response.setHeader(name, value);
      }
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    received,
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`received ${received.length} requests, expected ${count}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return received.slice(0, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function flatten(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/** Ids of the records `seedWorld` puts in a sandbox. */
export interface World {
  readonly contact: string;
  /** A contact with no email address. */
  readonly silentContact: string;
  readonly deal: string;
  readonly ticket: string;
  readonly order: string;
  readonly shippedOrder: string;
}

/**
 * One of everything: Ada (a contact), a deal associated with her, a new ticket she requested,
 * an open EUR 100 order of hers and a shipped one.
 */
export function seedWorld(sandbox: Sandbox): World {
  const people = sandbox.seed({
    contacts: [
      { properties: { email: 'ada@example.com', name: 'Ada' } },
      { properties: { name: 'No Mail' } },
    ],
  });
  const contact = String(people.contacts[0]?.id);
  const rest = sandbox.seed({
    deals: [
      {
        properties: { dealname: 'Renewal', dealstage: 'appointmentscheduled' },
        associations: [{ type: 'contact', id: contact }],
      },
    ],
    tickets: [{ subject: 'Where is my order?', requesterId: contact }],
    orders: [
      { currency: 'EUR', subtotal: 100, contactId: contact },
      { currency: 'EUR', subtotal: 20, contactId: contact, status: 'shipped' },
    ],
  });
  return {
    contact,
    silentContact: String(people.contacts[1]?.id),
    deal: String(rest.deals[0]?.id),
    ticket: String(rest.tickets[0]?.id),
    order: String(rest.orders[0]?.id),
    shippedOrder: String(rest.orders[1]?.id),
  };
}

let lastAction = 0;

/** A write as the outbox worker hands it over: a fresh action id and idempotency key each time. */
export function writeRequest(
  operation: string,
  target: { type: string; id: string },
  params: Record<string, unknown>,
  expectedRevision: string | null = null,
): WriteRequest {
  lastAction += 1;
  return {
    operation,
    target: { system: 'sandbox', ...target },
    params,
    idempotencyKey: `agent-1:key-${lastAction}`,
    actionId: `act_${lastAction}`,
    expectedRevision,
  };
}
