import { DEFAULT_KEEP, keepLatest } from './keep-latest.js';
import type { CrmObject, Order, Ticket } from './records.js';

/** Which of the sandbox's three systems a record lives in; picks the webhook format. */
export type SandboxSystem = 'helpdesk' | 'crm' | 'orders';

/** One field a write changed. A comment or discount added is a change of `comment`/`discount`. */
export interface FieldChange {
  readonly field: string;
  readonly previous: unknown;
  readonly value: unknown;
}

/** Who made a change: the `X-Actor` and `X-Action-Id` request headers, null when absent. */
export interface Actor {
  readonly actor: string | null;
  readonly actionId: string | null;
}

/** One write that changed a record. Replays, no-ops and refused requests are not writes. */
export interface AppliedWrite extends Actor {
  /** 1, 2, 3… in the order the writes were applied. */
  readonly seq: number;
  readonly at: string;
  /** The sandbox API operation, e.g. `ticket.update`, `contact.create`, `order.discount`. */
  readonly operation: string;
  readonly system: SandboxSystem;
  readonly kind: 'created' | 'updated';
  readonly record: { readonly type: string; readonly id: string };
  /** The record's revision after the write. */
  readonly revision: number;
  readonly changes: readonly FieldChange[];
  /** The record as the API shows it after the write. */
  readonly snapshot: Readonly<Record<string, unknown>>;
}

/** Everything the sandbox holds. In memory: a restart starts empty. */
export interface SandboxState {
  readonly tickets: Map<string, Ticket>;
  /** Contacts, deals, notes and emails, by id (ids are unique across every type). */
  readonly crm: Map<string, CrmObject>;
  readonly orders: Map<string, Order>;
  /** Unique property values (`type`, property, normalised value) → the id holding them. */
  readonly uniqueValues: Map<string, string>;
  /** The latest `keepWrites` applied writes (a tenth more at most), oldest first. */
  readonly writes: AppliedWrite[];
  readonly keepWrites: number;
  /** Every write applied so far, kept or let go: the last one's `seq`. */
  writeCount: number;
  /** The clock, epoch milliseconds. */
  readonly now: () => number;
  /** Called after every applied write (the webhook sender listens here). */
  readonly listeners: ((write: AppliedWrite) => void)[];
  lastId: number;
  /** False while seeding: seeded records are set-up, not writes, and send no webhooks. */
  recording: boolean;
}

/** Empty state on the clock `now` (epoch ms), keeping the latest `keepWrites` writes. */
export function createState(now: () => number, keepWrites = DEFAULT_KEEP): SandboxState {
  // Ids come from one counter for every type, so an id of one type never names a record of
  // another: a contact id sent as a ticket id is a 404, not somebody else's ticket.
  return {
    tickets: new Map(),
    crm: new Map(),
    orders: new Map(),
    uniqueValues: new Map(),
    writes: [],
    keepWrites,
    writeCount: 0,
    now,
    listeners: [],
    lastId: 1000,
    recording: true,
  };
}

/** A fresh record id (numeric text, as HubSpot and Zendesk ids are numbers). */
export function nextId(state: SandboxState): string {
  state.lastId += 1;
  return String(state.lastId);
}

/** The clock as an ISO-8601 timestamp. */
export function isoNow(state: SandboxState): string {
  return new Date(state.now()).toISOString();
}

/** Records an applied write and tells the listeners; returns it with its sequence number. */
export function commitWrite(
  state: SandboxState,
  write: Omit<AppliedWrite, 'seq' | 'at'>,
): AppliedWrite {
  if (!state.recording) return { ...write, seq: state.writeCount + 1, at: isoNow(state) };
  state.writeCount += 1;
  const applied: AppliedWrite = { ...write, seq: state.writeCount, at: isoNow(state) };
  state.writes.push(applied);
  keepLatest(state.writes, state.keepWrites);
  for (const listener of state.listeners) listener(applied);
  return applied;
}
