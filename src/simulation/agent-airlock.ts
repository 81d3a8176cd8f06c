import {
  AirlockClient,
  type Delivery,
  deriveIdempotencyKey,
  type LeaseRequest,
  type ProposalInput,
  type ProposalResult,
} from '../client/index.js';
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
import { type RefusedAction, type SeededWorld, triggerOfParams } from './model.js';

/**
 * The simulated agent behind Airlock: the same decision core and the same faults as the direct
 * one, but events come from Airlock (the SDK's lease/ack loop) and writes go to Airlock as
 * proposals, with the delivery's basis and a derived idempotency key. Airlock's refusals are
 * expected outcomes: counted, never thrown; only a transport failure nacks a delivery.
 */

export interface AirlockAgentOptions {
  /** The gateway's base URL. */
  readonly gatewayUrl: string;
  /** The agent's key. Its `deliver` must be pull (no url) and match the events (`['*']`). */
  readonly key: string;
  readonly seed: number;
  /** Default `DEFAULT_FAULTS`. */
  readonly faults?: AgentFaults | undefined;
  readonly world: SeededWorld;
  /** The systems (connector names) of tickets and of contacts and orders. Default helpdesk, crm. */
  readonly systems?: { readonly helpdesk: string; readonly crm: string } | undefined;
  /** Deliveries handled at once. Default 16. */
  readonly max?: number | undefined;
  /** Pause after an empty lease, ms. Default 100. */
  readonly idleMs?: number | undefined;
}

export interface AirlockAgent {
  readonly stats: AgentStats;
  /** Proposals Airlock refused, or that failed or were rejected when answered, in order. */
  readonly refused: readonly RefusedAction[];
  /** Resolves once two leases in a row (after the call) came back empty and nothing is in flight. */
  idle(): Promise<void>;
  /** Stops leasing; handlers under way finish; scheduled follow-ups are dropped. */
  close(): Promise<void>;
}

/** The outcome names counted in `stats.outcomes` for refusals, by problem code. */
const REFUSAL_NAMES: Readonly<Record<string, string>> = {
  'stale-basis': 'stale',
  'idempotency-key-reuse': 'key-reuse',
  'policy-denied': 'denied',
};

/** Re-proposals a decision gets after a refusal that a real agent would act on. */
const REPROPOSALS = 2;

export async function startAirlockAgent(options: AirlockAgentOptions): Promise<AirlockAgent> {
  const core = createAgentCore(options);
  const { stats } = core;
  const systems = options.systems ?? { helpdesk: 'helpdesk', crm: 'crm' };
  const refused: RefusedAction[] = [];
  const work = createWorkTracker();
  const waiters = new Set<{ empties: number; resolve: () => void }>();

  const noteLease = (leased: number) => {
    for (const waiter of waiters) {
      waiter.empties = leased === 0 ? waiter.empties + 1 : 0;
      if (waiter.empties >= 2 && work.busy === 0) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };
  const client = new LeaseObservingClient({ url: options.gatewayUrl, key: options.key }, noteLease);

  async function proposalFor(
    write: AgentWrite,
    plan: AgentPlan,
    delivery: Delivery,
  ): Promise<ProposalInput> {
    const decision = { model: 'simulated-agent', summary: `${plan.kind} (${plan.key})` };
    switch (write.operation) {
      case 'ticket.reply':
      case 'ticket.set_status': {
        const params =
          write.operation === 'ticket.reply' ? { body: write.body } : { status: write.status };
        return {
          operation: write.operation,
          target: { system: systems.helpdesk, type: 'ticket', id: write.ticket },
          params,
          basis: delivery.basis,
          decision,
        };
      }
      case 'order.cancel': {
        // A ticket's event does not bind an order (the connector relates a ticket to its
        // requester only), so the cancel names the order's revision as read now, and no events.
        const target = { system: systems.crm, type: 'order', id: write.order };
        const view = await client.readRecord(target);
        return {
          operation: 'order.cancel',
          target,
          params: { reason: write.reason },
          basis: { revision: view.revision },
          decision,
        };
      }
      case 'email.send': {
        const target = { system: systems.crm, type: 'contact', id: write.contact };
        const params = { subject: write.subject, body: write.body };
        return {
          operation: 'email.send',
          target,
          params,
          basis: delivery.basis,
          decision,
          // Keyed by the decision (welcome this contact), not the event: a lead's two form
          // events are one decision, and the second proposal is answered from the first.
          idempotencyKey: deriveIdempotencyKey({ operation: 'email.send', target, params }),
        };
      }
    }
  }

  /** Proposes; on a refusal a real agent acts on (stale, wrong target), decides again once. */
  async function submit(
    proposal: ProposalInput,
    delivery: Delivery,
    retries = REPROPOSALS,
  ): Promise<void> {
    count(stats.writes, proposal.operation);
    let result: ProposalResult;
    try {
      result = await client.propose(proposal);
    } catch (error) {
      count(stats.outcomes, 'transport-error');
      throw error;
    }
    record(proposal, result);
    if (result.outcome !== 'refused' || retries === 0) return;
    if (result.code === 'stale-basis') {
      const { problem } = result;
      if (customerWrote(delivery.context.record, problem.current)) {
        // The next delivery brings the customer's message; the answer to it answers both.
        count(stats.outcomes, 'dropped-for-newer-message');
        return;
      }
      if (proposal.operation === 'ticket.reply' && answered(problem.current)) {
        // Deciding again on the record as it is now: an answer (maybe this agent's own, decided
        // on a read that had this message too) came after the customer's last message.
        count(stats.outcomes, 'dropped-answered-meanwhile');
        return;
      }
      const events = [
        ...new Set([
          ...(proposal.basis?.events ?? []),
          ...problem.eventsSince.map((event) => event.event),
        ]),
      ];
      const basis = { revision: problem.currentRevision, events };
      const { operation, target, params } = proposal;
      count(stats.outcomes, 'reproposed-after-stale');
      await submit(
        {
          ...proposal,
          basis,
          idempotencyKey: deriveIdempotencyKey({ operation, target, params: { params, basis } }),
        },
        delivery,
        retries - 1,
      );
      return;
    }
    if (result.code === 'target-mismatch') {
      // The refusal names the record the event is about: a real agent writes there instead.
      const right = result.problem.eventRecord;
      if (!right || right.type !== proposal.target.type) return;
      const { idempotencyKey: _, ...rest } = proposal;
      count(stats.outcomes, 'retargeted-after-mismatch');
      await submit({ ...rest, target: right }, delivery, retries - 1);
    }
  }

  function record(proposal: ProposalInput, result: ProposalResult): void {
    if (result.outcome === 'dry_run') return;
    if (result.replayed) {
      count(stats.outcomes, 'replayed');
      return;
    }
    const name =
      result.outcome === 'refused' ? (REFUSAL_NAMES[result.code] ?? result.code) : result.outcome;
    count(stats.outcomes, name);
    if (
      result.outcome === 'refused' ||
      result.outcome === 'failed' ||
      result.outcome === 'rejected'
    ) {
      refused.push({
        operation: proposal.operation,
        target: { type: proposal.target.type, id: proposal.target.id },
        marker: triggerOfParams(proposal.params),
        status: name,
        action:
          result.outcome === 'refused'
            ? typeof result.problem.action === 'string'
              ? result.problem.action
              : null
            : result.action.action,
      });
    }
  }

  async function carryOut(plan: AgentPlan, delivery: Delivery): Promise<void> {
    // The delivery's context is what the agent read; a cancel reads its order here.
    const proposals: ProposalInput[] = [];
    for (const write of plan.writes) proposals.push(await proposalFor(write, plan, delivery));
    if (plan.staleDelayMs > 0) await sleep(plan.staleDelayMs);
    for (let round = plan.repeat ? 2 : 1; round > 0; round -= 1) {
      for (const proposal of proposals) await submit(proposal, delivery);
    }
    const { followUp } = plan;
    if (followUp) {
      work.later(followUp.delayMs, async () =>
        submit(await proposalFor(followUp.write, plan, delivery), delivery),
      );
    }
  }

  async function handle(delivery: Delivery): Promise<void> {
    const done = work.hold();
    try {
      for (const trigger of triggersOf(delivery)) {
        const plan = core.decide(trigger);
        if (plan) await carryOut(plan, delivery);
      }
    } finally {
      done();
    }
  }

  const stop = new AbortController();
  const consuming = client.consume(handle, {
    signal: stop.signal,
    max: options.max ?? 16,
    idleMs: options.idleMs ?? 100,
    onError: (_error, context) => {
      if (context.phase !== 'handler') count(stats.outcomes, `${context.phase}-error`);
    },
  });

  return {
    stats,
    refused,
    idle: () => new Promise<void>((resolve) => waiters.add({ empties: 0, resolve })),
    async close() {
      stop.abort();
      await consuming;
      work.cancelLater();
      await work.idle();
      for (const waiter of waiters) waiter.resolve();
      waiters.clear();
    },
  };
}

/** An `AirlockClient` that tells how many deliveries each lease brought, for `idle()`. */
class LeaseObservingClient extends AirlockClient {
  readonly #onLease: (leased: number) => void;

  constructor(options: { url: string; key: string }, onLease: (leased: number) => void) {
    super(options);
    this.#onLease = onLease;
  }

  override async lease(options: LeaseRequest = {}): Promise<Delivery[]> {
    const deliveries = await super.lease(options);
    this.#onLease(deliveries.length);
    return deliveries;
  }
}

/**
 * The delivery's events as triggers: each Zendesk `comment_added` (the comment in
 * `payload.event.comment`), and one lead per contact created or changed (HubSpot items).
 */
function triggersOf(delivery: Delivery): AgentTrigger[] {
  const triggers: AgentTrigger[] = [];
  const leads = new Set<string>();
  for (const event of delivery.events) {
    const type = event.type ?? '';
    const payload = event.payload as Record<string, unknown> | null;
    if (type.endsWith('ticket.comment_added')) {
      const comment = (payload?.event as { comment?: { id?: unknown; body?: unknown } } | undefined)
        ?.comment;
      const ticket = delivery.record?.id ?? (payload?.detail as { id?: unknown } | undefined)?.id;
      if (comment?.id == null || ticket == null) continue;
      triggers.push({
        kind: 'comment',
        ticket: String(ticket),
        comment: String(comment.id),
        body: String(comment.body ?? ''),
        answered: after(delivery.context.record, 'lastAgentReplyAt', event.occurredAt),
        wroteAgain: after(delivery.context.record, 'lastCustomerMessageAt', event.occurredAt),
      });
    } else if (type === 'contact.creation' || type === 'contact.propertyChange') {
      const contact = delivery.record?.id ?? payload?.objectId;
      if (contact == null || leads.has(String(contact))) continue;
      leads.add(String(contact));
      triggers.push({ kind: 'lead', contact: String(contact) });
    }
  }
  return triggers;
}

/** Whether a customer's message came after the record the agent decided on. */
function customerWrote(
  decidedOn: Readonly<Record<string, unknown>> | null,
  current: Readonly<Record<string, unknown>>,
): boolean {
  return (decidedOn?.lastCustomerMessageAt ?? null) !== (current.lastCustomerMessageAt ?? null);
}

/** Whether the ticket's last customer message has an agent's reply after it. */
function answered(ticket: Readonly<Record<string, unknown>>): boolean {
  const reply = ticket.lastAgentReplyAt;
  const message = ticket.lastCustomerMessageAt;
  return (
    typeof reply === 'string' &&
    typeof message === 'string' &&
    Date.parse(reply) >= Date.parse(message)
  );
}

/** Whether the record read has `field` (an ISO time) after `at`: something happened since. */
function after(
  record: Record<string, unknown> | null,
  field: 'lastAgentReplyAt' | 'lastCustomerMessageAt',
  at: string | null,
): boolean {
  const value = record?.[field];
  return typeof value === 'string' && at !== null && Date.parse(value) > Date.parse(at);
}
