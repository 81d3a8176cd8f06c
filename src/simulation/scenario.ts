import { DEAL_STAGES, type SeedInput } from '../sandbox/index.js';
import { draw } from '../seeded-random.js';
import { type Intent, intentTag, type ScenarioStep, type SeededWorld } from './model.js';

/**
 * The scenario: a seeded world (contacts, their open orders, their tickets) and the traffic
 * played into it (src/simulation/model.ts `ScenarioStep`). Every choice is a `draw` keyed by the
 * customer's, staff change's or lead's index, so one story does not depend on another and the
 * same seed gives the same world and the same traffic.
 */

/** What one customer does over the run; the ground truth follows from the messages it writes. */
export type Story =
  /** A question; half the time a follow-up, now and then before any answer could come. */
  | 'question'
  /** A question, then thanks, then often a new question right after: not solved any more. */
  | 'thanks-trap'
  /** Asks how cancelling works: a reply, never a cancel. */
  | 'ask-about-cancel'
  /** Asks to cancel: cancel the order and reply. */
  | 'ask-to-cancel'
  /** Asks about cancelling, then decides to keep the order: replies, no cancel. */
  | 'change-of-mind';

/** The share of customers each story gets (sums to 1). */
export const STORY_WEIGHTS: Readonly<Record<Story, number>> = {
  question: 0.35,
  'thanks-trap': 0.2,
  'ask-about-cancel': 0.2,
  'ask-to-cancel': 0.15,
  'change-of-mind': 0.1,
};

/** What the customer writes when changing their mind (a `question`: it needs an answer). */
export const CHANGE_OF_MIND_TEXT = 'Actually, keep it, just tell me when it ships.';

const FIRST_NAMES = [
  'Ada',
  'Ben',
  'Chiara',
  'Dmitri',
  'Elif',
  'Farid',
  'Greta',
  'Hiro',
  'Ines',
  'Jonas',
  'Kemal',
  'Lena',
  'Mateo',
  'Nora',
  'Oskar',
  'Priya',
  'Quentin',
  'Rosa',
  'Sven',
  'Tamar',
];
const LAST_NAMES = [
  'Andersen',
  'Bauer',
  'Costa',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Horvat',
  'Ivanova',
  'Jansen',
  'Kowalski',
  'Lindqvist',
  'Moreau',
  'Novak',
  'Okafor',
  'Petrov',
  'Rossi',
  'Schmidt',
];

const SUBJECTS = [
  'Question about my order',
  'My order',
  'Order enquiry',
  'Delivery',
  'Help with my purchase',
];

/** Message texts per kind; `{order}` is the customer's order id. */
const TEXTS = {
  question: [
    'Where is my order {order}? It has been a few days.',
    'Hi, could you tell me when order {order} will arrive?',
    'Can I still change the delivery address for my order?',
    'Is there a tracking number for order {order} yet?',
    'Hello, does my order {order} ship from the EU?',
  ],
  followUp: [
    'Also, could you send me the invoice?',
    'One more thing: can the parcel be left with a neighbour?',
    'Sorry, I forgot to ask: is gift wrapping possible?',
    'And is there a discount if I order again?',
  ],
  thanks: [
    'Thanks, that solved it!',
    "Great, that's all I needed. Thank you!",
    'Perfect, thanks for the quick help.',
  ],
  'ask-about-cancel': [
    'How would I cancel my order if I wanted to?',
    'Just curious: what happens if I want to cancel order {order}?',
    'Is it possible to cancel an order after paying? Not decided yet, just asking.',
  ],
  'ask-to-cancel': [
    'Please cancel my order.',
    "I'd like to cancel order {order}, please.",
    'Please cancel order {order}, I no longer need it.',
  ],
} as const satisfies Record<string, readonly string[]>;

const STAFF = ['alex', 'sam', 'kim', 'noor'] as const;
const STAFF_TAGS = ['vip', 'shipping', 'billing', 'follow-up', 'priority'];
const STAFF_STATUSES = ['open', 'pending', 'hold'] as const;
const STAFF_NOTES = [
  'Customer also called the hotline about this.',
  'Checked with the warehouse: the parcel is packed.',
  'Possibly a duplicate of an earlier ticket.',
  'Payment went through on the second try.',
];

/** The staff member named by a staff-change step, for its `staff:<name>` actor. */
export function staffNameOf(index: number): string {
  return STAFF[index % STAFF.length] as string;
}

/**
 * The world to seed for `seed`: per customer (index i) the i-th contact (a name and a unique
 * email `c<i>.<seed>@example.com`), the i-th order (open, EUR, subtotal 20–300) and the i-th
 * ticket (status `new`, a subject). Ids exist only once records are seeded, so the links (the
 * ticket's `requesterId`, the order's `contactId`) are left out here: `seedWorld` makes them,
 * i-th to i-th. A ticket seeded without comments gets its subject as the customer's first
 * message, which carries no intent tag: customers' real messages come as steps, with webhooks.
 */
export function planWorld(seed: number, options: { readonly customers: number }): SeedInput {
  const indexes = Array.from({ length: options.customers }, (_, i) => i);
  return {
    contacts: indexes.map((i) => ({
      properties: { email: `c${i}.${seed}@example.com`, name: nameOf(seed, 'customer', i) },
    })),
    orders: indexes.map((i) => ({
      currency: 'EUR',
      subtotal: Math.round((20 + draw(seed, 'subtotal', String(i)) * 280) * 100) / 100,
      status: 'open' as const,
    })),
    tickets: indexes.map((i) => ({
      subject: pick(seed, 'subject', String(i), SUBJECTS),
      status: 'new' as const,
    })),
    deals: indexes.map((i) => ({
      properties: {
        dealname: `Renewal ${nameOf(seed, 'customer', i)}`,
        dealstage: DEAL_STAGES[0],
        amount: String(Math.round(draw(seed, 'deal-amount', String(i)) * 5000)),
      },
    })),
  };
}

/**
 * Seeds `plan` (from `planWorld`) through `POST /_seed` (no writes, no webhooks): the contacts
 * first, then each ticket and order linked to the contact of the same index.
 */
export async function seedWorld(sandboxUrl: string, plan: SeedInput): Promise<SeededWorld> {
  const contacts = plan.contacts ?? [];
  const orders = plan.orders ?? [];
  const tickets = plan.tickets ?? [];
  const deals = plan.deals ?? [];
  if (
    orders.length !== contacts.length ||
    tickets.length !== contacts.length ||
    deals.length !== contacts.length
  ) {
    throw new Error('a world plan has one order, one ticket and one deal per contact');
  }
  const first = await postSeed(sandboxUrl, { contacts });
  const contactIds = first.contacts.map(idOf);
  const second = await postSeed(sandboxUrl, {
    tickets: tickets.map((ticket, i) => ({ ...ticket, requesterId: contactIds[i] })),
    orders: orders.map((order, i) => ({ ...order, contactId: contactIds[i] })),
    deals: deals.map((deal, i) => ({
      ...deal,
      associations: [{ type: 'contact' as const, id: contactIds[i] as string }],
    })),
  });
  return {
    customers: contactIds.map((contact, i) => ({
      contact,
      order: idOf(second.orders[i]),
      ticket: idOf(second.tickets[i]),
      deal: idOf(second.deals[i]),
    })),
  };
}

/**
 * The traffic for `world`, sorted by `at` (ms from the start; ties keep generation order):
 * one story per customer (`STORY_WEIGHTS`), starting uniformly over `durationMs` (its later
 * messages may come after it); staff changes on random tickets, about one per three customers,
 * over `durationMs`; and `leads` leads, each filling form 1 at t and form 2 50–1500 ms later.
 * The same seed and world give the same steps.
 */
export function generateSteps(
  seed: number,
  world: SeededWorld,
  options: { readonly leads: number; readonly durationMs: number },
): ScenarioStep[] {
  const { durationMs } = options;
  const steps: ScenarioStep[] = [];
  world.customers.forEach((customer, i) => {
    steps.push(...storySteps(seed, i, customer, durationMs));
  });
  const staffChanges = world.customers.length === 0 ? 0 : Math.round(world.customers.length / 3);
  for (let j = 0; j < staffChanges; j += 1) {
    const key = String(j);
    const customer = pick(seed, 'staff-ticket', key, world.customers);
    steps.push({
      kind: 'staff-change',
      at: Math.floor(draw(seed, 'staff-at', key) * durationMs),
      ticket: customer.ticket,
      change: staffChange(seed, key),
    });
  }
  // Sales moves deals at the same time, about one per four customers.
  const dealMoves = Math.round(world.customers.length / 4);
  for (let d = 0; d < dealMoves; d += 1) {
    const key = String(d);
    const customer = pick(seed, 'deal-customer', key, world.customers);
    steps.push({
      kind: 'deal-move',
      at: Math.floor(draw(seed, 'deal-at', key) * durationMs),
      deal: customer.deal,
      stage: pick(seed, 'deal-stage', key, DEAL_STAGES.slice(1)),
    });
  }
  for (let k = 0; k < options.leads; k += 1) {
    const key = String(k);
    const at = Math.floor(draw(seed, 'lead-at', key) * durationMs);
    const lead = { email: `lead${k}.${seed}@example.com`, name: nameOf(seed, 'lead', k) };
    steps.push({ kind: 'lead-form', at, ...lead, form: 1 });
    steps.push({
      kind: 'lead-form',
      at: at + between(seed, 'lead-gap', key, 50, 1500),
      ...lead,
      form: 2,
    });
  }
  // Array.prototype.sort is stable: equal times keep the order they were generated in.
  return steps.sort((a, b) => a.at - b.at);
}

/** The story customer `index` plays for `seed`. */
export function storyOf(seed: number, index: number): Story {
  let roll = draw(seed, 'story', String(index));
  for (const [story, weight] of Object.entries(STORY_WEIGHTS) as [Story, number][]) {
    if (roll < weight) return story;
    roll -= weight;
  }
  return 'question';
}

function storySteps(
  seed: number,
  index: number,
  customer: SeededWorld['customers'][number],
  durationMs: number,
): ScenarioStep[] {
  const key = String(index);
  const steps: ScenarioStep[] = [];
  const say = (at: number, intent: Intent, text: string) => {
    steps.push({
      kind: 'customer-message',
      at,
      ticket: customer.ticket,
      intent,
      body: `${text.replaceAll('{order}', customer.order)} ${intentTag(intent)}`,
    });
  };
  // Each message draws its text at its own key, so texts do not shift when a branch is taken.
  const text = (kind: keyof typeof TEXTS, n: number) =>
    pick(seed, `text-${kind}`, `${key}:${n}`, TEXTS[kind]);
  const chance = (stream: string, p: number) => draw(seed, stream, key) < p;
  const gap = (stream: string, min: number, max: number) => between(seed, stream, key, min, max);

  const start = Math.floor(draw(seed, 'story-start', key) * durationMs);
  switch (storyOf(seed, index)) {
    case 'question': {
      say(start, 'question', text('question', 0));
      if (chance('follow-up', 0.5)) {
        // A second message before any answer could come, or one after a while.
        const later = chance('follow-up-quick', 0.3)
          ? gap('follow-up-quick-gap', 50, 250)
          : gap('follow-up-gap', 1500, 4000);
        say(start + later, 'question', text('followUp', 1));
      }
      break;
    }
    case 'thanks-trap': {
      say(start, 'question', text('question', 0));
      const thanksAt = start + gap('thanks-gap', 2000, 4000);
      say(thanksAt, 'thanks', text('thanks', 1));
      if (chance('after-thanks', 0.6)) {
        say(thanksAt + gap('after-thanks-gap', 80, 300), 'question', text('followUp', 2));
      }
      break;
    }
    case 'ask-about-cancel': {
      say(start, 'ask-about-cancel', text('ask-about-cancel', 0));
      if (chance('follow-up', 0.3)) {
        say(start + gap('follow-up-gap', 1500, 4000), 'question', text('followUp', 1));
      }
      break;
    }
    case 'ask-to-cancel':
      say(start, 'ask-to-cancel', text('ask-to-cancel', 0));
      break;
    case 'change-of-mind':
      say(start, 'ask-about-cancel', text('ask-about-cancel', 0));
      say(start + gap('mind-gap', 1000, 3000), 'question', CHANGE_OF_MIND_TEXT);
      break;
  }
  return steps;
}

function staffChange(
  seed: number,
  key: string,
): Extract<ScenarioStep, { kind: 'staff-change' }>['change'] {
  const roll = draw(seed, 'staff-kind', key);
  if (roll < 0.3) return { assignee: pick(seed, 'staff-assignee', key, STAFF) };
  if (roll < 0.5) return { addTags: [pick(seed, 'staff-tag', key, STAFF_TAGS)] };
  if (roll < 0.75) return { status: pick(seed, 'staff-status', key, STAFF_STATUSES) };
  return { note: pick(seed, 'staff-note', key, STAFF_NOTES) };
}

function nameOf(seed: number, who: string, index: number): string {
  const key = `${who}:${index}`;
  return `${pick(seed, 'first-name', key, FIRST_NAMES)} ${pick(seed, 'last-name', key, LAST_NAMES)}`;
}

function pick<T>(seed: number, stream: string, key: string, values: readonly T[]): T {
  return values[Math.floor(draw(seed, stream, key) * values.length)] as T;
}

/** A whole number in [min, max]. */
function between(seed: number, stream: string, key: string, min: number, max: number): number {
  return min + Math.floor(draw(seed, stream, key) * (max - min + 1));
}

interface SeedAnswer {
  readonly contacts: readonly unknown[];
  readonly tickets: readonly unknown[];
  readonly orders: readonly unknown[];
  readonly deals: readonly unknown[];
}

async function postSeed(sandboxUrl: string, input: SeedInput): Promise<SeedAnswer> {
  const response = await fetch(new URL('/_seed', sandboxUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  const text = await response.text();
  if (response.status !== 201) {
    throw new Error(`POST /_seed answered ${response.status}: ${text.slice(0, 500)}`);
  }
  return JSON.parse(text) as SeedAnswer;
}

function idOf(record: unknown): string {
  const id = (record as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string') throw new Error('POST /_seed answered a record without an id');
  return id;
}
