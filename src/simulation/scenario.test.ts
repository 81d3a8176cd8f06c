import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../sandbox/index.js';
import { intentOf, type ScenarioStep, type SeededWorld } from './model.js';
import { playScenario } from './play.js';
import {
  CHANGE_OF_MIND_TEXT,
  generateSteps,
  planWorld,
  STORY_WEIGHTS,
  type Story,
  seedWorld,
  storyOf,
} from './scenario.js';

type Message = Extract<ScenarioStep, { kind: 'customer-message' }>;
type Customer = SeededWorld['customers'][number];
type LeadForm = Extract<ScenarioStep, { kind: 'lead-form' }>;

/** A world of `n` customers with made-up ids, for generating steps without a sandbox. */
function fakeWorld(n: number): SeededWorld {
  return {
    customers: Array.from({ length: n }, (_, i) => ({
      contact: `c${i}`,
      order: `o${i}`,
      ticket: `t${i}`,
      deal: `d${i}`,
    })),
  };
}

function groupBy<T>(values: readonly T[], keyOf: (value: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const value of values)
    groups.set(keyOf(value), [...(groups.get(keyOf(value)) ?? []), value]);
  return groups;
}

const messagesOf = (steps: readonly ScenarioStep[]) =>
  steps.filter((step): step is Message => step.kind === 'customer-message');

/** The story a ticket's messages tell, read from the steps alone. */
function storyFromSteps(messages: readonly Message[]): Story {
  const intents = messages.map((m) => m.intent);
  if (intents.includes('ask-to-cancel')) return 'ask-to-cancel';
  if (intents.includes('thanks')) return 'thanks-trap';
  if (messages.some((m) => m.body.startsWith(CHANGE_OF_MIND_TEXT))) return 'change-of-mind';
  if (intents.includes('ask-about-cancel')) return 'ask-about-cancel';
  return 'question';
}

describe('generateSteps', () => {
  const world = fakeWorld(40);
  const options = { leads: 10, durationMs: 60_000 };

  it('gives the same steps for a seed and other steps for another seed', () => {
    const steps = generateSteps(7, world, options);
    expect(generateSteps(7, world, options)).toEqual(steps);
    expect(generateSteps(8, world, options)).not.toEqual(steps);
    expect(planWorld(7, { customers: 5 })).toEqual(planWorld(7, { customers: 5 }));
    expect(planWorld(8, { customers: 5 })).not.toEqual(planWorld(7, { customers: 5 }));
  });

  it('sorts by time and ends every customer message with its intent tag', () => {
    const steps = generateSteps(7, world, options);
    for (let i = 1; i < steps.length; i += 1) {
      expect(steps[i]?.at).toBeGreaterThanOrEqual(steps[i - 1]?.at as number);
    }
    for (const message of messagesOf(steps)) expect(intentOf(message.body)).toBe(message.intent);
    // Bodies vary: the same intent is not always said the same way.
    const questions = new Set(messagesOf(steps).filter((m) => m.intent === 'question'));
    expect(new Set([...questions].map((m) => m.body.replace(/\d+/g, '#'))).size).toBeGreaterThan(4);
  });

  it('tells each story in its share and shape', () => {
    const customers = 3000;
    const steps = generateSteps(11, fakeWorld(customers), { leads: 0, durationMs: 600_000 });
    const byTicket = groupBy(messagesOf(steps), (m) => m.ticket);
    const counts = new Map<Story, number>();
    let quickFollowUps = 0;
    let questionsAfterThanks = 0;
    for (let i = 0; i < customers; i += 1) {
      const messages = byTicket.get(`t${i}`) ?? [];
      const story = storyFromSteps(messages);
      expect(story).toBe(storyOf(11, i));
      counts.set(story, (counts.get(story) ?? 0) + 1);
      const gaps = messages.slice(1).map((m, k) => m.at - (messages[k] as Message).at);
      switch (story) {
        case 'question':
          expect(messages.length).toBeLessThanOrEqual(2);
          if (gaps[0] !== undefined) {
            expect(gaps[0] <= 250 ? gaps[0] >= 50 : gaps[0] >= 1500 && gaps[0] <= 4000).toBe(true);
            if (gaps[0] <= 250) quickFollowUps += 1;
          }
          break;
        case 'thanks-trap':
          expect(messages.map((m) => m.intent).slice(0, 2)).toEqual(['question', 'thanks']);
          expect(gaps[0]).toBeGreaterThanOrEqual(2000);
          expect(gaps[0]).toBeLessThanOrEqual(4000);
          if (gaps[1] !== undefined) {
            expect(messages[2]?.intent).toBe('question');
            expect(gaps[1]).toBeGreaterThanOrEqual(80);
            expect(gaps[1]).toBeLessThanOrEqual(300);
            questionsAfterThanks += 1;
          }
          break;
        case 'ask-to-cancel':
          expect(messages.map((m) => m.intent)).toEqual(['ask-to-cancel']);
          break;
        case 'change-of-mind':
          expect(messages.map((m) => m.intent)).toEqual(['ask-about-cancel', 'question']);
          expect(gaps[0]).toBeGreaterThanOrEqual(1000);
          expect(gaps[0]).toBeLessThanOrEqual(3000);
          break;
        case 'ask-about-cancel':
          expect(messages[0]?.intent).toBe('ask-about-cancel');
          expect(messages.length).toBeLessThanOrEqual(2);
          break;
      }
    }
    for (const [story, weight] of Object.entries(STORY_WEIGHTS) as [Story, number][]) {
      expect(Math.abs((counts.get(story) ?? 0) / customers - weight)).toBeLessThan(0.03);
    }
    const questionStories = counts.get('question') ?? 0;
    expect(Math.abs(quickFollowUps / questionStories - 0.5 * 0.3)).toBeLessThan(0.04);
    const thanksStories = counts.get('thanks-trap') ?? 0;
    expect(Math.abs(questionsAfterThanks / thanksStories - 0.6)).toBeLessThan(0.06);
    const staff = steps.filter((step) => step.kind === 'staff-change');
    expect(staff).toHaveLength(customers / 3);
    expect(new Set(staff.map((s) => Object.keys(s.change)[0]))).toEqual(
      new Set(['assignee', 'addTags', 'status', 'note']),
    );
    const dealMoves = steps.filter((step) => step.kind === 'deal-move');
    expect(dealMoves).toHaveLength(customers / 4);
  });

  it('has every lead fill form 1, then form 2 50–1500 ms later with the same email', () => {
    const steps = generateSteps(5, world, { leads: 50, durationMs: 10_000 });
    const forms = steps.filter((step): step is LeadForm => step.kind === 'lead-form');
    const byEmail = groupBy(forms, (form) => form.email);
    expect(byEmail.size).toBe(50);
    for (const [, [first, second, ...rest]] of byEmail) {
      expect(rest).toEqual([]);
      expect([first?.form, second?.form]).toEqual([1, 2]);
      expect(second?.name).toBe(first?.name);
      const gap = (second?.at as number) - (first?.at as number);
      expect(gap).toBeGreaterThanOrEqual(50);
      expect(gap).toBeLessThanOrEqual(1500);
    }
  });
});

describe('planWorld', () => {
  it('plans a contact with a unique email, an open EUR order and a new ticket per customer', () => {
    const plan = planWorld(3, { customers: 50 });
    const emails = plan.contacts?.map((c) => c.properties.email);
    expect(new Set(emails).size).toBe(50);
    expect(emails?.[7]).toBe('c7.3@example.com');
    for (const order of plan.orders ?? []) {
      expect(order).toMatchObject({ currency: 'EUR', status: 'open' });
      expect(order.subtotal).toBeGreaterThanOrEqual(20);
      expect(order.subtotal).toBeLessThanOrEqual(300);
    }
    expect(plan.tickets?.every((t) => t.status === 'new' && t.comments === undefined)).toBe(true);
  });
});

describe('playScenario against a real sandbox', () => {
  let sandbox: Sandbox | undefined;
  afterEach(async () => {
    await sandbox?.close();
  });

  /** A read as the world makes it, exempt from chaos. */
  async function read(url: string, path: string) {
    const response = await fetch(`${url}${path}`, { headers: { 'x-sandbox-chaos': 'off' } });
    expect(response.status).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: the test reads answers loosely.
    return (await response.json()) as any;
  }

  it('records the truth of what it played; chaos does not touch the world', async () => {
    // Every API request without the exemption fails: the world's writes must all land anyway.
    sandbox = createSandbox({ chaos: { seed: 1, api: { error5xx: 1 } } });
    const url = await sandbox.listen(0);
    // Seed 24 gives these 6 customers all five stories, an ask-to-cancel among them.
    const world = await seedWorld(url, planWorld(24, { customers: 6 }));
    const steps = generateSteps(24, world, { leads: 2, durationMs: 1500 });
    const played: number[] = [];
    const truth = await playScenario(steps, {
      sandboxUrl: url,
      world,
      speed: 1,
      onStep: (_, index) => played.push(index),
    });

    const probe = await fetch(`${url}/api/tickets/${world.customers[0]?.ticket}`);
    expect(probe.status).toBeGreaterThanOrEqual(500);
    expect(sandbox.chaosReport().injected.error5xx).toBe(1);

    expect(played.sort((a, b) => a - b)).toEqual(steps.map((_, i) => i));
    expect(truth.skipped).toBe(0);
    const messages = messagesOf(steps);
    expect(truth.messages.map(({ ticket, intent }) => ({ ticket, intent }))).toEqual(
      messages.map(({ ticket, intent }) => ({ ticket, intent })),
    );
    for (const [i, message] of truth.messages.entries()) {
      const { comments } = await read(url, `/api/tickets/${message.ticket}/comments`);
      const customer = world.customers.find((c) => c.ticket === message.ticket);
      const comment = comments.find((c: { id: string }) => c.id === message.comment);
      expect(comment).toMatchObject({
        kind: 'message',
        body: messages[i]?.body,
        author: `customer:${customer?.contact}`,
      });
    }

    const cancels = messages.filter((m) => m.intent === 'ask-to-cancel');
    expect(cancels.length).toBeGreaterThan(0);
    expect(truth.cancelRequested).toEqual(
      cancels.map((m) => ({
        ticket: m.ticket,
        order: world.customers.find((c) => c.ticket === m.ticket)?.order,
      })),
    );
    for (const customer of world.customers) {
      const { order } = await read(url, `/orders/${customer.order}`);
      expect(order.contactId).toBe(customer.contact);
      const { ticket } = await read(url, `/api/tickets/${customer.ticket}`);
      expect(ticket.requesterId).toBe(customer.contact);
    }

    const leadEmails = [
      ...new Set(steps.flatMap((s) => (s.kind === 'lead-form' ? [s.email] : []))),
    ];
    expect(truth.leads).toHaveLength(2);
    for (const email of leadEmails) {
      const contact = await read(url, `/crm/v3/objects/contacts/${email}?idProperty=email`);
      expect(truth.leads).toContain(contact.id);
      expect(contact.properties.lifecyclestage).toBe('lead');
    }

    expect(truth.worldActors).toEqual(expect.arrayContaining(['form:1', 'form:2']));
    for (const customer of world.customers) {
      expect(truth.worldActors).toContain(`customer:${customer.contact}`);
    }
    const { writes } = await read(url, '/_writes');
    expect(writes.length).toBeGreaterThanOrEqual(messages.length + 2 * 2);
    for (const write of writes) expect(truth.worldActors).toContain(write.actor);
  });

  it('retries a failed world write once it did not land, and skips a closed ticket', async () => {
    sandbox = createSandbox();
    const url = await sandbox.listen(0);
    const world = await seedWorld(url, planWorld(1, { customers: 2 }));
    const [open, closed] = world.customers as [Customer, Customer];
    const agentWrite = await fetch(`${url}/api/tickets/${closed.ticket}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-actor': 'sim-agent' },
      body: JSON.stringify({ status: 'closed' }),
    });
    expect(agentWrite.status).toBe(200);
    sandbox.faults.add({ operation: 'ticket.update', status: 503, times: 2 });
    const body = 'Where is my order? [intent:question]';
    const steps: ScenarioStep[] = [
      { kind: 'customer-message', at: 0, ticket: open.ticket, intent: 'question', body },
      { kind: 'customer-message', at: 0, ticket: closed.ticket, intent: 'question', body },
    ];
    const truth = await playScenario(steps, { sandboxUrl: url, world });

    expect(truth.skipped).toBe(1);
    expect(truth.messages).toEqual([
      { comment: expect.any(String), ticket: open.ticket, intent: 'question' },
    ]);
    const { comments } = await read(url, `/api/tickets/${open.ticket}/comments`);
    expect(comments.filter((c: { body: string }) => c.body === body)).toHaveLength(1);
  });
});
