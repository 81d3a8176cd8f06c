import { draw } from '../seeded-random.js';
import {
  type Intent,
  intentOf,
  leadMarker,
  repliedComment,
  replyMarker,
  type SeededWorld,
} from './model.js';

/**
 * The simulated agent's decision core, shared by its two modes (`agent-direct.ts`,
 * `agent-airlock.ts`): what a trigger calls for, and which of the agent's faults fire on it.
 * Every fault is a seeded draw keyed by the trigger (`draw(seed, 'agent.<fault>', key)`), so both
 * modes make the same decisions, faults included, for the same trigger on the same seed.
 */

/** The agent's failure modes (the issue's, in its order). */
export const FAULT_KINDS = [
  /** The same trigger is handled twice. */
  'retrigger',
  /** 300–900 ms pass between reading the record and writing: the customer may write meanwhile. */
  'staleRead',
  /** The write goes to another customer's ticket (reply, status) or order (cancel). */
  'wrongRecord',
  /** "How would I cancel?" is read as "please cancel". Rate: of ask-about-cancel messages. */
  'misreadIntent',
  /** One of its own replies, seen again, is taken for a customer's question. Rate: of those seen. */
  'echoReply',
  /** 1–2 s after replying, a second reply to the same comment. */
  'secondFollowUp',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Each fault's rate, 0..1: the share of the triggers it can fire on where it does. */
export type AgentFaults = Readonly<Record<FaultKind, number>>;

export const DEFAULT_FAULTS: AgentFaults = {
  retrigger: 0.05,
  staleRead: 0.15,
  wrongRecord: 0.03,
  misreadIntent: 0.1,
  echoReply: 0.3,
  secondFollowUp: 0.05,
};

export const NO_FAULTS: AgentFaults = {
  retrigger: 0,
  staleRead: 0,
  wrongRecord: 0,
  misreadIntent: 0,
  echoReply: 0,
  secondFollowUp: 0,
};

/** Answers to its own echoes stop after this many on one ticket, so a loop ends. */
export const ECHO_REPLIES_PER_TICKET = 3;

/** What wakes the agent. */
export type AgentTrigger =
  /** A comment appeared on a ticket: a customer's message, the agent's own reply, a staff note. */
  | {
      readonly kind: 'comment';
      readonly ticket: string;
      readonly comment: string;
      readonly body: string;
      /**
       * What the agent read shows a reply on the ticket after this message: the customer's turn
       * is answered already (they wrote twice before the answer). Each mode says it from what
       * it has: through Airlock the delivery's context, read at hand-over; directly the
       * webhook's copy of the ticket, as it was when the message was written.
       */
      readonly answered?: boolean;
      /** What the agent read shows the customer wrote again after this message. */
      readonly wroteAgain?: boolean;
    }
  /** A CRM contact was created or updated by a web form: a lead. */
  | { readonly kind: 'lead'; readonly contact: string };

/** A write the agent makes, in the sandbox's terms; each mode maps it to its own call. */
export type AgentWrite =
  | { readonly operation: 'ticket.reply'; readonly ticket: string; readonly body: string }
  | { readonly operation: 'ticket.set_status'; readonly ticket: string; readonly status: 'solved' }
  | { readonly operation: 'order.cancel'; readonly order: string; readonly reason: string }
  | {
      readonly operation: 'email.send';
      readonly contact: string;
      readonly subject: string;
      readonly body: string;
    };

/** What the agent decided a trigger calls for. */
export type DecisionKind =
  /** A question answered. */
  | 'answer'
  /** "How would I cancel?" explained. */
  | 'explain-cancel'
  /** The order cancelled, and the customer told. */
  | 'cancel'
  /** "Thanks": the ticket marked solved. */
  | 'solve'
  /** A lead's welcome email. */
  | 'welcome'
  /** Its own reply answered as if a customer had written it (the echoReply fault). */
  | 'echo-answer';

/** One decision: the writes to make and how the faults bend carrying them out. */
export interface AgentPlan {
  /** The trigger's key for the seeded draws: `comment:<id>`, `echo:<id>`, `lead:<contact id>`. */
  readonly key: string;
  readonly kind: DecisionKind;
  /** The record the trigger is about (a ticket, or a lead's contact). */
  readonly about: string;
  /** In order. Marked writes carry `replyMarker(comment)` or `leadMarker(contact)`. */
  readonly writes: readonly AgentWrite[];
  /** retrigger: carry the writes out twice. */
  readonly repeat: boolean;
  /** staleRead: ms to wait between reading and writing; 0 when it does not fire. */
  readonly staleDelayMs: number;
  /** secondFollowUp: a second reply to the same comment, `delayMs` after the first. */
  readonly followUp: { readonly delayMs: number; readonly write: AgentWrite } | null;
  /** The faults that fired on this trigger. */
  readonly faults: readonly FaultKind[];
}

/** What the agent did, for the run's report. Counters only; the modes add writes and outcomes. */
export interface AgentStats {
  triggers: number;
  /** Triggers that called for nothing (a staff note, an echo not answered, a status change). */
  ignored: number;
  decisions: Record<DecisionKind, number>;
  faults: Record<FaultKind, number>;
  /** Writes attempted (direct: sandbox calls; Airlock: proposals), by operation. */
  writes: Record<string, number>;
  /** What the writes came to, by outcome (direct: applied, refused, lost; Airlock: executed, stale, …). */
  outcomes: Record<string, number>;
}

export function emptyStats(): AgentStats {
  return {
    triggers: 0,
    ignored: 0,
    decisions: {
      answer: 0,
      'explain-cancel': 0,
      cancel: 0,
      solve: 0,
      welcome: 0,
      'echo-answer': 0,
    },
    faults: {
      retrigger: 0,
      staleRead: 0,
      wrongRecord: 0,
      misreadIntent: 0,
      echoReply: 0,
      secondFollowUp: 0,
    },
    writes: {},
    outcomes: {},
  };
}

/** Adds one to `counter[name]`. */
export function count(counter: Record<string, number>, name: string): void {
  counter[name] = (counter[name] ?? 0) + 1;
}

export interface AgentCoreOptions {
  readonly seed: number;
  /** Default `DEFAULT_FAULTS`. */
  readonly faults?: AgentFaults | undefined;
  /** Who each customer is, with their ticket and order: how the agent finds "the customer's order". */
  readonly world: SeededWorld;
}

/** The decision core: one per agent, since it remembers how often it answered its own echoes. */
export interface AgentCore {
  readonly stats: AgentStats;
  /** The plan for a trigger, or null when it calls for nothing. Counts the trigger in `stats`. */
  decide(trigger: AgentTrigger): AgentPlan | null;
}

/** What the agent answers a question, and asking about cancelling. */
const ANSWERS = {
  question: {
    kind: 'answer',
    text: 'Your order is on its way; you will have a tracking link by email.',
  },
  'ask-about-cancel': {
    kind: 'explain-cancel',
    text: 'An open order can be cancelled until it ships: just ask us here and we will do it.',
  },
} as const satisfies Record<string, { kind: DecisionKind; text: string }>;

export function createAgentCore(options: AgentCoreOptions): AgentCore {
  const { seed, world } = options;
  const faults = options.faults ?? DEFAULT_FAULTS;
  const stats = emptyStats();
  const echoReplies = new Map<string, number>();
  const fires = (fault: FaultKind, key: string) =>
    faults[fault] > 0 && draw(seed, `agent.${fault}`, key) < faults[fault];
  /** A number in [low, high) for a fault's detail (a delay, a pick), drawn on its own stream. */
  const amount = (stream: string, key: string, low: number, high: number) =>
    low + draw(seed, `agent.${stream}`, key) * (high - low);

  /** Another customer than the one whose `ticket` this is, or null when there is none. */
  const otherCustomer = (ticket: string, key: string) => {
    const others = world.customers.filter((customer) => customer.ticket !== ticket);
    if (others.length === 0) return null;
    return others[Math.floor(amount('wrongRecord.pick', key, 0, others.length))] ?? null;
  };

  function decide(trigger: AgentTrigger): AgentPlan | null {
    stats.triggers += 1;
    const plan = trigger.kind === 'lead' ? planLead(trigger.contact) : planComment(trigger);
    if (!plan) {
      stats.ignored += 1;
      return null;
    }
    stats.decisions[plan.kind] += 1;
    for (const fault of plan.faults) stats.faults[fault] += 1;
    return plan;
  }

  function planLead(contact: string): AgentPlan {
    const key = `lead:${contact}`;
    const write: AgentWrite = {
      operation: 'email.send',
      contact,
      subject: `Welcome! ${leadMarker(contact)}`,
      body: 'Thanks for your interest. A person from our team will be in touch shortly.',
    };
    return finish({ key, kind: 'welcome', about: contact, writes: [write] }, []);
  }

  function planComment(trigger: Extract<AgentTrigger, { kind: 'comment' }>): AgentPlan | null {
    const { ticket, comment, body } = trigger;
    const intent = intentOf(body);
    // A thanks solves the ticket unless the customer wrote again after it (the next message says
    // what they need); a turn already answered needs no second answer (planMessage).
    if (intent === 'thanks' && trigger.wroteAgain) return null;
    if (intent) return planMessage(ticket, comment, intent, trigger.answered === true);
    // Not a customer's message: its own reply (echo) is the only other thing it could act on.
    if (repliedComment(body) === null) return null;
    const key = `echo:${comment}`;
    if (!fires('echoReply', key)) return null;
    const answered = echoReplies.get(ticket) ?? 0;
    if (answered >= ECHO_REPLIES_PER_TICKET) return null;
    echoReplies.set(ticket, answered + 1);
    const fired: FaultKind[] = ['echoReply'];
    const target = mistaken(ticket, key, fired)?.ticket ?? ticket;
    const reply = replyTo(target, comment, 'Thanks for your message, we are looking into it.');
    return finish({ key, kind: 'echo-answer', about: ticket, writes: [reply] }, fired);
  }

  /** `answered`: the customer's turn has a reply already; only a cancel asked for is still owed. */
  function planMessage(
    ticket: string,
    comment: string,
    stated: Intent,
    answered: boolean,
  ): AgentPlan | null {
    if (answered && stated !== 'ask-to-cancel' && stated !== 'thanks') return null;
    const key = `comment:${comment}`;
    const fired: FaultKind[] = [];
    let intent = stated;
    if (intent === 'ask-about-cancel' && fires('misreadIntent', key)) {
      fired.push('misreadIntent');
      intent = 'ask-to-cancel';
    }
    switch (intent) {
      case 'question':
      case 'ask-about-cancel': {
        const { kind, text } = ANSWERS[intent];
        const reply = replyTo(mistaken(ticket, key, fired)?.ticket ?? ticket, comment, text);
        return finish({ key, kind, about: ticket, writes: [reply] }, fired);
      }
      case 'ask-to-cancel': {
        const customer = world.customers.find((candidate) => candidate.ticket === ticket);
        const order = mistaken(ticket, key, fired)?.order ?? customer?.order ?? null;
        const writes: AgentWrite[] = [];
        if (order) {
          // The comment is in the reason, so the cancel is a decision of its own per message;
          // the ticket too, so the person approving it reads who asked.
          writes.push({
            operation: 'order.cancel',
            order,
            reason: `the customer asked on ticket ${ticket} ${replyMarker(comment)}`,
          });
        }
        if (!answered) {
          writes.push(
            replyTo(
              ticket,
              comment,
              order
                ? `Your order ${order} is being cancelled; you will get a confirmation.`
                : 'We could not find an open order of yours to cancel.',
            ),
          );
        }
        return finish({ key, kind: 'cancel', about: ticket, writes }, fired);
      }
      case 'thanks': {
        const target = mistaken(ticket, key, fired)?.ticket ?? ticket;
        const solve: AgentWrite = {
          operation: 'ticket.set_status',
          ticket: target,
          status: 'solved',
        };
        return finish({ key, kind: 'solve', about: ticket, writes: [solve] }, fired);
      }
    }
  }

  /**
   * The customer the agent mistakes for the one of `ticket` when wrongRecord fires (noted in
   * `fired`), or null: then it writes to the right record.
   */
  function mistaken(ticket: string, key: string, fired: FaultKind[]) {
    if (!fires('wrongRecord', key)) return null;
    const other = otherCustomer(ticket, key);
    if (other) fired.push('wrongRecord');
    return other;
  }

  /** Adds the faults that bend how any plan is carried out: retrigger, staleRead, follow-up. */
  function finish(
    plan: Pick<AgentPlan, 'key' | 'kind' | 'about' | 'writes'>,
    fired: FaultKind[],
  ): AgentPlan {
    const { key } = plan;
    const repeat = fires('retrigger', key);
    if (repeat) fired.push('retrigger');
    let staleDelayMs = 0;
    if (fires('staleRead', key)) {
      fired.push('staleRead');
      staleDelayMs = Math.round(amount('staleRead.delay', key, 300, 900));
    }
    let followUp: AgentPlan['followUp'] = null;
    const reply = plan.writes.find((write) => write.operation === 'ticket.reply');
    if (reply && fires('secondFollowUp', key)) {
      fired.push('secondFollowUp');
      const marker = replyMarker(repliedComment(reply.body) ?? '');
      followUp = {
        delayMs: Math.round(amount('secondFollowUp.delay', key, 1000, 2000)),
        write: { ...reply, body: `Just checking in: did my last answer help? ${marker}` },
      };
    }
    return { ...plan, repeat, staleDelayMs, followUp, faults: fired };
  }

  return { stats, decide };
}

function replyTo(ticket: string, comment: string, text: string): AgentWrite {
  return { operation: 'ticket.reply', ticket, body: `${text} ${replyMarker(comment)}` };
}
