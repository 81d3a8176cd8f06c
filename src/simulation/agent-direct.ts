import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AgentFaults,
  type AgentPlan,
  type AgentStats,
  type AgentTrigger,
  type AgentWrite,
  count,
  createAgentCore,
} from './agent.js';
import { createWorkTracker, sleep } from './agent-work.js';
import { DIRECT_AGENT_ACTOR, type SeededWorld } from './model.js';

/**
 * The simulated agent wired the way a naive integration is: the sandbox's webhooks come straight
 * to it and it writes straight to the sandbox's API. It answers every webhook 200 at once and
 * works in the background; it does not drop a redelivered webhook, does not retry a write that
 * failed (a 5xx, 429 or timeout loses the event), sends no expected revision, and sees every
 * comment, its own replies included.
 */

export interface DirectAgentOptions {
  /** The sandbox's base URL. */
  readonly sandboxUrl: string;
  readonly seed: number;
  /** Default `DEFAULT_FAULTS`. */
  readonly faults?: AgentFaults | undefined;
  readonly world: SeededWorld;
  /** Port to listen on, on 127.0.0.1. Default 0: any free one. */
  readonly port?: number | undefined;
  /** Per sandbox call, ms. Default 2000. */
  readonly timeoutMs?: number | undefined;
}

export interface DirectAgent {
  /** Give these to the sandbox as its `webhookUrl`. */
  readonly webhookUrls: { readonly helpdesk: string; readonly crm: string };
  readonly stats: AgentStats;
  /**
   * Resolves once nothing is queued or in flight, scheduled follow-ups included. Webhooks the
   * sandbox has not sent yet are not known here: wait for the sandbox's first.
   */
  idle(): Promise<void>;
  /** Stops listening and drops scheduled follow-ups; writes under way finish. */
  close(): Promise<void>;
}

export async function startDirectAgent(options: DirectAgentOptions): Promise<DirectAgent> {
  const core = createAgentCore(options);
  const { stats } = core;
  const base = options.sandboxUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 2000;
  const work = createWorkTracker();

  /** One sandbox call; null when no answer came in time (the agent gives up). */
  async function call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: unknown } | null> {
    try {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          accept: 'application/json',
          'x-actor': DIRECT_AGENT_ACTOR,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? null : safeJson(text) };
    } catch {
      return null;
    }
  }

  /** Reads what a write is about, as an agent does before it writes. Null: the read failed. */
  async function read(write: AgentWrite): Promise<Record<string, unknown> | null> {
    const path =
      write.operation === 'order.cancel'
        ? `/orders/${encodeURIComponent(write.order)}`
        : write.operation === 'email.send'
          ? `/crm/v3/objects/contacts/${encodeURIComponent(write.contact)}`
          : `/api/tickets/${encodeURIComponent(write.ticket)}`;
    const answer = await call('GET', path);
    if (answer?.status !== 200) return null;
    const body = answer.body as Record<string, unknown>;
    if (write.operation === 'order.cancel') return body.order as Record<string, unknown>;
    if (write.operation === 'email.send') return body.properties as Record<string, unknown>;
    return body.ticket as Record<string, unknown>;
  }

  async function send(write: AgentWrite, record: Record<string, unknown>): Promise<void> {
    count(stats.writes, write.operation);
    let answer: Awaited<ReturnType<typeof call>>;
    switch (write.operation) {
      case 'ticket.reply':
        answer = await call('PUT', `/api/tickets/${encodeURIComponent(write.ticket)}`, {
          comment: { kind: 'reply', body: write.body },
        });
        break;
      case 'ticket.set_status':
        answer = await call('PUT', `/api/tickets/${encodeURIComponent(write.ticket)}`, {
          status: write.status,
        });
        break;
      case 'order.cancel':
        answer = await call('POST', `/orders/${encodeURIComponent(write.order)}/cancel`, {
          reason: write.reason,
        });
        break;
      case 'email.send':
        answer = await call('POST', '/crm/v3/objects/emails', {
          properties: {
            hs_email_subject: write.subject,
            hs_email_text: write.body,
            hs_email_to: String(record.email ?? ''),
          },
          associations: [{ type: 'contact', id: write.contact }],
        });
        break;
    }
    count(stats.outcomes, outcomeOf(answer));
  }

  /** Reads every record first, waits (staleRead), then writes; a failed read loses the event. */
  async function carryOut(writes: readonly AgentWrite[], staleDelayMs: number): Promise<void> {
    const records: Record<string, unknown>[] = [];
    for (const write of writes) {
      const record = await read(write);
      if (!record) {
        count(stats.outcomes, 'lost-read');
        return;
      }
      records.push(record);
    }
    if (staleDelayMs > 0) await sleep(staleDelayMs);
    for (const [index, write] of writes.entries()) await send(write, records[index] ?? {});
  }

  async function handle(plan: AgentPlan): Promise<void> {
    for (let round = plan.repeat ? 2 : 1; round > 0; round -= 1) {
      await carryOut(plan.writes, plan.staleDelayMs);
    }
    const { followUp } = plan;
    if (followUp) work.later(followUp.delayMs, () => carryOut([followUp.write], 0));
  }

  function receive(channel: 'helpdesk' | 'crm', body: unknown): void {
    const triggers = channel === 'helpdesk' ? helpdeskTriggers(body) : crmTriggers(body);
    for (const trigger of triggers) {
      const plan = core.decide(trigger);
      if (plan) work.run(() => handle(plan));
    }
  }

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    // Counted from the first byte, so idle() cannot resolve between receipt and handling.
    const done = work.hold();
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', done);
    request.on('end', () => {
      response.statusCode = 200;
      response.end();
      const path = request.url?.split('?')[0] ?? '';
      const channel = path === '/helpdesk' ? 'helpdesk' : path === '/crm' ? 'crm' : null;
      if (channel) receive(channel, safeJson(Buffer.concat(chunks).toString('utf8')));
      done();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    webhookUrls: { helpdesk: `${url}/helpdesk`, crm: `${url}/crm` },
    stats,
    idle: () => work.idle(),
    async close() {
      work.cancelLater();
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

/** A Zendesk `ticket.comment_added` event as a trigger; other events call for nothing. */
function helpdeskTriggers(body: unknown): AgentTrigger[] {
  const event = body as {
    type?: unknown;
    subject?: unknown;
    time?: unknown;
    detail?: { id?: unknown; last_agent_reply_at?: unknown };
    event?: { comment?: { id?: unknown; body?: unknown } };
  } | null;
  if (typeof event?.type !== 'string' || !event.type.endsWith('ticket.comment_added')) return [];
  const comment = event.event?.comment;
  const ticket =
    event.detail?.id ??
    (typeof event.subject === 'string' ? event.subject.split(':').at(-1) : null);
  if (!comment || comment.id == null || ticket == null) return [];
  return [
    {
      kind: 'comment',
      ticket: String(ticket),
      comment: String(comment.id),
      body: String(comment.body ?? ''),
      // The ticket as the webhook shows it, when the message was written.
      answered:
        typeof event.detail?.last_agent_reply_at === 'string' &&
        typeof event.time === 'string' &&
        Date.parse(event.detail.last_agent_reply_at) > Date.parse(event.time),
    },
  ];
}

/** The contacts a HubSpot batch created or changed (a lead's form), one trigger per contact. */
function crmTriggers(body: unknown): AgentTrigger[] {
  if (!Array.isArray(body)) return [];
  const contacts = new Set<string>();
  for (const item of body as {
    subscriptionType?: unknown;
    objectId?: unknown;
    sourceId?: unknown;
  }[]) {
    if (
      item?.subscriptionType !== 'contact.creation' &&
      item?.subscriptionType !== 'contact.propertyChange'
    )
      continue;
    if (typeof item.sourceId === 'string' && item.sourceId.startsWith(DIRECT_AGENT_ACTOR)) continue;
    if (item.objectId != null) contacts.add(String(item.objectId));
  }
  return [...contacts].map((contact) => ({ kind: 'lead', contact }));
}

function outcomeOf(answer: { status: number } | null): string {
  if (!answer) return 'lost';
  if (answer.status >= 200 && answer.status < 300) return 'applied';
  // The agent does not retry: a 5xx or 429 loses the write as a timeout does.
  if (answer.status === 429 || answer.status >= 500) return 'lost';
  return 'refused';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
