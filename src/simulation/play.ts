import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GroundTruth, Intent, ScenarioStep, SeededWorld } from './model.js';
import { staffNameOf } from './scenario.js';

/** How `playScenario` plays. */
export interface PlayOptions {
  /** The sandbox, `http://host:port`. */
  readonly sandboxUrl: string;
  /** The records `steps` were generated for (`seedWorld`): whose ticket, whose order. */
  readonly world: SeededWorld;
  /** Time scale: a step runs at `at / speed` ms from the start. Default 1. */
  readonly speed?: number;
  /** Stops the run: no further steps start, and `playScenario` rejects with its reason. */
  readonly signal?: AbortSignal;
  /** Called once a step has been played (landed or skipped), with its index in `steps`. */
  readonly onStep?: (step: ScenarioStep, index: number) => void;
}

/** The ground truth of what was played, and how many steps were skipped (a closed ticket). */
export type PlayResult = GroundTruth & { readonly skipped: number };

/** Requests in flight at once, at most. */
const CONCURRENCY = 32;
/** Tries per world write before the run fails. */
const ATTEMPTS = 4;
const RETRY_PAUSE_MS = 100;
const REQUEST_TIMEOUT_MS = 10_000;
/** The world's own traffic is not the sandbox's chaos target (src/sandbox/README.md "Chaos"). */
const WORLD_HEADERS = { 'x-sandbox-chaos': 'off' } as const;

/**
 * Plays `steps` into the sandbox as customers (`X-Actor: customer:<contact id>`), staff
 * (`staff:<name>`) and web forms (`form:1`, `form:2`) would, each at `start + at / speed`.
 * Steps due at once run concurrently (at most 32 requests in flight), except that one ticket's
 * customer messages, and one lead's forms, land in the order of `steps`. A write that fails
 * for the network, a timeout, 429 or 5xx is tried again up to 4 times, after checking it did not
 * land (world comments carry a `world-<step index>` marker). A write refused because the
 * ticket is closed (422 `ticket-closed`) is skipped; any other refusal fails the run.
 *
 * Returns the ground truth: each customer message as landed with its comment id, the cancels
 * requested, the leads' contact ids and every actor used, plus the count of skipped steps.
 */
export async function playScenario(
  steps: readonly ScenarioStep[],
  options: PlayOptions,
): Promise<PlayResult> {
  const speed = options.speed ?? 1;
  if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError('speed must be above 0');
  const stop = new AbortController();
  // Every scheduled step waits on it: one listener per step is the design, not a leak.
  setMaxListeners(0, stop.signal);
  const external = options.signal;
  const onAbort = () => stop.abort(external?.reason);
  if (external?.aborted) throw external.reason;
  external?.addEventListener('abort', onAbort, { once: true });

  const context: PlayContext = {
    sandboxUrl: options.sandboxUrl,
    customers: new Map(options.world.customers.map((customer) => [customer.ticket, customer])),
    actors: new Set(),
    signal: stop.signal,
    limit: createLimit(CONCURRENCY),
  };
  const outcomes: Outcome[] = [];
  const lanes = new Map<string, Promise<unknown>>();
  const failures: unknown[] = [];
  const started = performance.now();

  const runs = steps.map(async (step, index) => {
    const lane = laneOf(step);
    const previous = lane === null ? undefined : lanes.get(lane);
    const run = (async () => {
      await previous;
      const wait = started + step.at / speed - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal: stop.signal });
      stop.signal.throwIfAborted();
      outcomes[index] = await context.limit(() => playStep(context, step, index));
      options.onStep?.(step, index);
    })();
    // The next step in the lane waits for this one to end, however it ends.
    if (lane !== null) {
      lanes.set(
        lane,
        run.catch(() => undefined),
      );
    }
    try {
      await run;
    } catch (error) {
      // The first failure stops the run; the aborts it causes in other steps are not failures.
      if (!stop.signal.aborted) {
        failures.push(error);
        stop.abort(error);
      }
    }
  });
  await Promise.all(runs);
  external?.removeEventListener('abort', onAbort);
  if (external?.aborted) throw external.reason;
  if (failures.length > 0) throw failures[0];
  return truthOf(outcomes, context.actors);
}

interface PlayContext {
  readonly sandboxUrl: string;
  readonly customers: ReadonlyMap<string, SeededWorld['customers'][number]>;
  readonly actors: Set<string>;
  readonly signal: AbortSignal;
  readonly limit: <T>(task: () => Promise<T>) => Promise<T>;
}

/** What playing one step did. */
type Outcome =
  | { readonly kind: 'skipped' }
  | { readonly kind: 'done' }
  | {
      readonly kind: 'message';
      readonly comment: string;
      readonly ticket: string;
      readonly intent: Intent;
      /** The customer's order, for a request to cancel it. */
      readonly order: string;
    }
  | { readonly kind: 'lead'; readonly contact: string };

/** Steps in one lane land in order: a ticket's customer messages, a lead's two forms. */
function laneOf(step: ScenarioStep): string | null {
  if (step.kind === 'customer-message') return `ticket:${step.ticket}`;
  if (step.kind === 'lead-form') return `lead:${step.email.toLowerCase()}`;
  return null;
}

async function playStep(context: PlayContext, step: ScenarioStep, index: number): Promise<Outcome> {
  const marker = `world-${index}`;
  switch (step.kind) {
    case 'customer-message': {
      const customer = context.customers.get(step.ticket);
      if (!customer) throw new Error(`step ${index}: ticket ${step.ticket} is not in the world`);
      const actor = `customer:${customer.contact}`;
      const comment = await withRetries(
        context,
        `step ${index} (customer message on ticket ${step.ticket})`,
        () =>
          send(context, 'PUT', `/api/tickets/${step.ticket}`, actor, {
            comment: { kind: 'message', body: step.body, marker },
          }),
        (answer) => (isTicketClosed(answer) ? null : commentIdOf(expectOk(answer, 200))),
        () => findComment(context, step.ticket, marker),
      );
      if (comment === null) return { kind: 'skipped' };
      return {
        kind: 'message',
        comment,
        ticket: step.ticket,
        intent: step.intent,
        order: customer.order,
      };
    }
    case 'staff-change': {
      const actor = `staff:${staffNameOf(index)}`;
      const { change } = step;
      const body =
        'note' in change
          ? { comment: { kind: 'note', body: change.note, marker } }
          : 'assignee' in change
            ? { assignee: change.assignee }
            : 'status' in change
              ? { status: change.status }
              : { addTags: change.addTags };
      const landed = await withRetries(
        context,
        `step ${index} (staff change on ticket ${step.ticket})`,
        () => send(context, 'PUT', `/api/tickets/${step.ticket}`, actor, body),
        (answer) => (isTicketClosed(answer) ? null : expectOk(answer, 200)),
        // Reassigning and adding tags again change nothing; only a note could land twice.
        'note' in change ? () => findComment(context, step.ticket, marker) : undefined,
      );
      return landed === null ? { kind: 'skipped' } : { kind: 'done' };
    }
    case 'deal-move': {
      // Setting a stage again changes nothing: safe to retry.
      await withRetries(
        context,
        `step ${index} (deal ${step.deal} to ${step.stage})`,
        () =>
          send(
            context,
            'PATCH',
            `/crm/v3/objects/deals/${step.deal}`,
            `staff:${staffNameOf(index)}`,
            {
              properties: { dealstage: step.stage },
            },
          ),
        (answer) => expectOk(answer, 200),
      );
      return { kind: 'done' };
    }
    case 'lead-form': {
      if (step.form === 2) {
        await withRetries(
          context,
          `step ${index} (form 2 for ${step.email})`,
          () =>
            send(
              context,
              'PATCH',
              `/crm/v3/objects/contacts/${encodeURIComponent(step.email)}?idProperty=email`,
              'form:2',
              { properties: { lifecyclestage: 'lead' } },
            ),
          (answer) => expectOk(answer, 200),
        );
        return { kind: 'done' };
      }
      const contact = await withRetries(
        context,
        `step ${index} (form 1 for ${step.email})`,
        () =>
          send(context, 'POST', '/crm/v3/objects/contacts', 'form:1', {
            properties: { email: step.email, name: step.name, lifecyclestage: 'subscriber' },
          }),
        // 409 with the existing id: an earlier try landed after all (the CRM has no idempotency).
        (answer) =>
          answer.status === 409 && typeof field(answer.body, 'existingId') === 'string'
            ? (field(answer.body, 'existingId') as string)
            : idOf(expectOk(answer, 201)),
      );
      return { kind: 'lead', contact };
    }
  }
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * `once` until its answer is not 429 or 5xx and it did not fail for the network or a timeout,
 * at most `ATTEMPTS` times; then `accept` reads the answer (and throws for an unexpected one).
 * Before each retry `landed` (when given) says whether the write landed after all, and its
 * non-null answer is the result.
 */
async function withRetries<T>(
  context: PlayContext,
  what: string,
  once: () => Promise<Answer>,
  accept: (answer: Answer) => T,
  landed?: () => Promise<T | null>,
): Promise<T> {
  let lastProblem: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt += 1) {
    if (attempt > 1) {
      await sleep(RETRY_PAUSE_MS * (attempt - 1), undefined, { signal: context.signal });
    }
    let answer: Answer;
    try {
      const found = attempt > 1 && landed ? await landed() : null;
      if (found !== null) return found;
      answer = await once();
    } catch (error) {
      if (context.signal.aborted) throw error;
      lastProblem = error;
      continue;
    }
    if (answer.status === 429 || answer.status >= 500) {
      lastProblem = new Error(`answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      continue;
    }
    return accept(answer);
  }
  throw new Error(`${what} failed ${ATTEMPTS} times`, { cause: lastProblem });
}

/** One request as the world, exempt from the sandbox's chaos; throws for the network only. */
async function send(
  context: PlayContext,
  method: string,
  path: string,
  actor: string | null,
  body?: unknown,
): Promise<Answer> {
  if (actor !== null) context.actors.add(actor);
  const response = await fetch(new URL(path, context.sandboxUrl), {
    method,
    headers: {
      ...WORLD_HEADERS,
      ...(actor === null ? {} : { 'x-actor': actor }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.any([context.signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? null : JSON.parse(text) };
}

/** The id of the world comment carrying `marker` on `ticket`, or null when it did not land. */
async function findComment(
  context: PlayContext,
  ticket: string,
  marker: string,
): Promise<string | null> {
  const path = `/api/tickets/${ticket}/comments?marker=${encodeURIComponent(marker)}`;
  const answer = await send(context, 'GET', path, null);
  if (answer.status !== 200) throw new Error(`GET ${path} answered ${answer.status}`);
  const comments = field(answer.body, 'comments');
  const first = Array.isArray(comments) ? comments[0] : undefined;
  return first === undefined ? null : idOf(first);
}

function isTicketClosed(answer: Answer): boolean {
  const type = field(answer.body, 'type');
  return answer.status === 422 && typeof type === 'string' && type.endsWith(':ticket-closed');
}

function expectOk(answer: Answer, status: number): unknown {
  if (answer.status !== status) {
    throw new Error(`answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`);
  }
  return answer.body;
}

/** The new comment's id in a `PUT /api/tickets/:id` answer: its `Comment` audit event. */
function commentIdOf(body: unknown): string {
  const events = field(field(body, 'audit'), 'events');
  const comment = Array.isArray(events)
    ? events.find((event) => field(event, 'type') === 'Comment')
    : undefined;
  return idOf(comment);
}

function idOf(record: unknown): string {
  const id = field(record, 'id');
  if (typeof id !== 'string') throw new Error(`no id in ${JSON.stringify(record)}`);
  return id;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

function truthOf(outcomes: readonly Outcome[], actors: ReadonlySet<string>): PlayResult {
  const messages: GroundTruth['messages'][number][] = [];
  const cancelRequested: GroundTruth['cancelRequested'][number][] = [];
  const leads: string[] = [];
  let skipped = 0;
  for (const outcome of outcomes) {
    if (outcome.kind === 'skipped') skipped += 1;
    if (outcome.kind === 'lead') leads.push(outcome.contact);
    if (outcome.kind !== 'message') continue;
    const { comment, ticket, intent, order } = outcome;
    messages.push({ comment, ticket, intent });
    if (intent === 'ask-to-cancel') cancelRequested.push({ ticket, order });
  }
  return { messages, cancelRequested, leads, worldActors: [...actors].sort(), skipped };
}

/** Runs at most `max` tasks at once; the others wait their turn, first come first served. */
function createLimit(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active < max) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      // Hand the slot straight to the next task, so `active` never overshoots.
      const next = waiting.shift();
      if (next) next();
      else active -= 1;
    }
  };
}
