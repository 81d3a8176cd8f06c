/**
 * The simulation's shared vocabulary (src/simulation/README.md): what the scenario plays into the
 * sandbox, what it records as the truth, what the simulated agent writes, and how the checker
 * reads the sandbox's write log back. Plain data, so a run can be saved and checked again.
 */

/** What a customer's message asks for. The agent reads it from the message's tag. */
export type Intent =
  /** "Where is my order?": one reply. */
  | 'question'
  /** "How would I cancel?": one reply explaining; cancelling would be a misreading. */
  | 'ask-about-cancel'
  /** "Please cancel my order": cancel the customer's open order, and reply. */
  | 'ask-to-cancel'
  /** "Thanks, that solved it": mark the ticket solved; no reply needed. */
  | 'thanks';

export const INTENTS: readonly Intent[] = [
  'question',
  'ask-about-cancel',
  'ask-to-cancel',
  'thanks',
];

/** The tag that ends a customer message's body: `… [intent:question]`. */
export function intentTag(intent: Intent): string {
  return `[intent:${intent}]`;
}

/** The intent a message body states, or null (a staff note, an agent's reply). */
export function intentOf(body: string): Intent | null {
  const match = /\[intent:([a-z-]+)\]\s*$/.exec(body);
  const intent = match?.[1] as Intent | undefined;
  return intent && INTENTS.includes(intent) ? intent : null;
}

/**
 * The marker an agent's reply (or any write with a body) carries: which customer comment it
 * answers, `[re:<comment id>]`. The checker groups replies by it.
 */
export function replyMarker(commentId: string): string {
  return `[re:${commentId}]`;
}

export function repliedComment(body: string): string | null {
  return /\[re:([^\]]+)\]/.exec(body)?.[1] ?? null;
}

/**
 * The trigger a proposal's params name: the customer comment a reply (`body`) or a cancel
 * (`reason`) answers, or the lead a welcome email's `subject` is for; null when none.
 */
export function triggerOfParams(params: unknown): string | null {
  const { body, reason, subject } = (params ?? {}) as Record<string, unknown>;
  for (const text of [body, reason]) {
    const comment = typeof text === 'string' ? repliedComment(text) : null;
    if (comment !== null) return comment;
  }
  return typeof subject === 'string' ? leadOf(subject) : null;
}

/** The welcome email a lead gets carries `[lead:<contact id>]` in its subject. */
export function leadMarker(contactId: string): string {
  return `[lead:${contactId}]`;
}

export function leadOf(text: string): string | null {
  return /\[lead:([^\]]+)\]/.exec(text)?.[1] ?? null;
}

/**
 * One step the scenario plays into the sandbox, as a customer, staff or a web form would, at
 * `at` ms from the start of the run. Ids refer to records the scenario seeded (`SeededWorld`).
 */
export type ScenarioStep =
  | {
      readonly kind: 'customer-message';
      readonly at: number;
      readonly ticket: string;
      readonly intent: Intent;
      readonly body: string;
    }
  | {
      readonly kind: 'staff-change';
      readonly at: number;
      readonly ticket: string;
      /** A change a person makes at the same time: reassign, tag, or add an internal note. */
      readonly change:
        | { readonly assignee: string }
        | { readonly addTags: readonly string[] }
        | { readonly note: string }
        | { readonly status: 'open' | 'pending' | 'hold' };
    }
  | {
      /** Sales moves a customer's deal to another stage (a CRM change the agent has no part in). */
      readonly kind: 'deal-move';
      readonly at: number;
      readonly deal: string;
      readonly stage: string;
    }
  | {
      /**
       * A lead submits a web form: the first form creates the contact (`email` unique), the
       * second, from another form, marks it a lead (`lifecyclestage`). Two events, one lead.
       */
      readonly kind: 'lead-form';
      readonly at: number;
      readonly email: string;
      readonly name: string;
      readonly form: 1 | 2;
    };

/** The records the scenario puts in the sandbox before it starts (no webhooks). */
export interface SeededWorld {
  /** Per customer: the contact, their open order and their ticket. */
  readonly customers: readonly {
    readonly contact: string;
    readonly order: string;
    readonly ticket: string;
    /** Their deal in the sales pipeline. */
    readonly deal: string;
  }[];
}

/**
 * What a correct agent must do and must not do, as the scenario played it, in terms the checker
 * can find in the sandbox's write log. Turns are not decided in advance: the checker groups a
 * ticket's customer messages into turns by the agent replies between them (two messages before
 * any reply are one turn, answered by one reply marked with either).
 */
export interface GroundTruth {
  /** Every customer message the scenario wrote, with the comment id the sandbox gave it. */
  readonly messages: readonly {
    readonly comment: string;
    readonly ticket: string;
    readonly intent: Intent;
  }[];
  /** Orders whose customer asked to cancel them (ticket → order): each should be cancelled. */
  readonly cancelRequested: readonly { readonly ticket: string; readonly order: string }[];
  /** Leads (contact ids): each should get exactly one welcome email. */
  readonly leads: readonly string[];
  /** Which actors are the world's (customers, staff, forms): every other write is the agent's. */
  readonly worldActors: readonly string[];
}

/** An action Airlock refused or never executed (stale, denied, rejected, failed…), for the checker. */
export interface RefusedAction {
  readonly operation: string;
  readonly target: { readonly type: string; readonly id: string };
  /** The comment or lead its params named (`triggerOfParams`), when there was one. */
  readonly marker: string | null;
  readonly status: string;
  readonly action: string | null;
}

/** The actor the simulated agent writes as in direct mode (Airlock's connector writes as `airlock`). */
export const DIRECT_AGENT_ACTOR = 'sim-agent';

/** The error classes the checker counts (the issue's, in its order). */
export const ERROR_CLASSES = [
  'duplicate_effect',
  'stale_write',
  'wrong_record',
  'unapproved_or_hallucinated',
  'loop',
  'lost_event',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** What the checker finds. */
export interface CheckResult {
  readonly errors: Readonly<Record<ErrorClass, number>>;
  /** Required writes (turns needing a reply, requested cancels, leads, solving turns). */
  readonly required: number;
  /** Of those, done. */
  readonly completed: number;
  /** Of those not done, the ones Airlock refused (stale, denied, rejected…) and never did. */
  readonly falseBlocks: number;
  /**
   * Of those not done, the ones the agent got wrong and Airlock stopped: it proposed the write
   * for them on another record (a wrong order to cancel), which was refused. Not a write, not a
   * false block: work the agent's mistake left undone.
   */
  readonly stoppedMistakes: number;
  /** A few examples per class, for a person to look at (`airlock why` on an action id). */
  readonly examples: Readonly<Partial<Record<ErrorClass | 'false_block', readonly string[]>>>;
}
