import { z } from 'zod';

export type Risk = 'low' | 'medium' | 'high';

/** One operation an agent may propose. The catalogue is narrow on purpose: nothing else is written. */
export interface OperationSpec {
  readonly name: string;
  /** The record type the target must be; `*` for operations on any record (a note). */
  readonly targetType: string;
  /** `create` makes a new record (no basis revision to check); `update` changes the target. */
  readonly kind: 'create' | 'update';
  readonly params: z.ZodType<Record<string, unknown>>;
  /**
   * `high` always waits for a human approval. `record`: the target's fields as read now (null
   * for a create, or where the record is not at hand, as in tool descriptions).
   */
  risk(
    params: Record<string, unknown>,
    limits: CatalogueLimits,
    record: Readonly<Record<string, unknown>> | null,
  ): Risk;
  readonly reversible: boolean;
  /**
   * The operation and params that undo this one, given what it changed; only when reversible.
   * `before` is the effect's before-state of the fields the operation changed: null, or without
   * a field, when it is not known (a write found by reconcile, which sees only the state after).
   * Null when the inverse needs a value `before` does not hold: it is never guessed.
   */
  inverse?(
    params: Record<string, unknown>,
    before: Readonly<Record<string, unknown>> | null,
  ): {
    operation: string;
    params: Record<string, unknown>;
  } | null;
  /** How the connector makes a retry safe: said in the docs and the trace. */
  readonly retrySafety: string;
}

/** Thresholds from the config that move an operation's risk. */
export interface CatalogueLimits {
  /**
   * `discount.apply` is high risk when the order's discounts in its currency would come to more
   * than this in total, counting the new one. Default 50.
   */
  readonly discountApprovalAbove: number;
}

/**
 * The amount of the discounts an order's record lists in `currency` (`discounts[].amount`, as
 * the sandbox's orders hold them). Checked on the total rather than per call: three discounts
 * of 50 are a discount of 150, and the threshold must not be split under.
 */
function discountedSoFar(
  record: Readonly<Record<string, unknown>> | null,
  currency: unknown,
): number {
  const discounts = record?.discounts;
  if (!Array.isArray(discounts)) return 0;
  let total = 0;
  for (const discount of discounts as unknown[]) {
    const { amount, currency: of } = (discount ?? {}) as Record<string, unknown>;
    if (of === currency && typeof amount === 'number') total += amount;
  }
  return total;
}

const text = (max: number) => z.string().trim().min(1).max(max);
const fixed = (risk: Risk) => () => risk;

/**
 * The values `fields` had before, or null when `before` does not hold every one of them. A field
 * held as null was empty; one that is absent is unknown.
 */
function priorValues(
  before: Readonly<Record<string, unknown>> | null,
  fields: readonly string[],
): Record<string, unknown> | null {
  if (!before || !fields.every((field) => Object.hasOwn(before, field))) return null;
  return Object.fromEntries(fields.map((field) => [field, before[field]]));
}

/** The inverse of a set-style operation: set `field` back to what it was, when that is known. */
const setBack =
  (operation: string, field: string) =>
  (_params: unknown, before: Readonly<Record<string, unknown>> | null) => {
    const prior = priorValues(before, [field]);
    return prior && { operation, params: prior };
  };

/**
 * Property names the gateway keeps for itself: connectors write `airlock_key` into the records
 * they create and find those creates by it, so a value an agent set could pass for one.
 */
const RESERVED_PROPERTY = /^airlock_/i;

const ticketStatus = z.enum(['new', 'open', 'pending', 'hold', 'solved', 'closed']);
const fieldValue = z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]);

/**
 * The params of each operation. Kept as one literal object so their types survive: the SDK
 * (`airlock/client`) types a proposal's params by its operation name from these.
 */
const paramsSchemas = {
  'ticket.reply': z.strictObject({ body: text(20_000) }),
  'ticket.add_note': z.strictObject({ body: text(20_000) }),
  'ticket.set_status': z.strictObject({ status: ticketStatus, reason: text(500).optional() }),
  /** null unassigns the ticket. */
  'ticket.assign': z.strictObject({ assignee: text(200).nullable() }),
  'ticket.tag': z
    .strictObject({
      add: z.array(text(100)).max(50).default([]),
      remove: z.array(text(100)).max(50).default([]),
    })
    .refine((p) => p.add.length + p.remove.length > 0, 'add or remove at least one tag'),
  'contact.create': z.strictObject({
    email: z.email().max(320),
    name: text(200).optional(),
    phone: text(50).optional(),
    company: text(200).optional(),
  }),
  'contact.update': z.strictObject({
    changes: z
      .record(
        z
          .string()
          .regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/)
          .refine(
            (name) => !RESERVED_PROPERTY.test(name),
            'properties named airlock_… are reserved to the gateway',
          ),
        fieldValue,
      )
      .refine((changes) => Object.keys(changes).length > 0, 'change at least one field'),
  }),
  'deal.set_stage': z.strictObject({ stage: text(100) }),
  'note.create': z.strictObject({ body: text(20_000) }),
  'email.send': z.strictObject({ subject: text(500), body: text(50_000) }),
  'order.cancel': z.strictObject({ reason: text(500) }),
  'discount.apply': z.strictObject({
    amount: z.number().positive().max(1_000_000),
    currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code like EUR'),
    code: text(100).optional(),
  }),
} as const;

/** The name of an operation in the catalogue. */
export type OperationName = keyof typeof paramsSchemas;

/** The params each operation takes, as an agent sends them (before defaults). */
export type OperationParams = {
  [K in OperationName]: z.input<(typeof paramsSchemas)[K]>;
};

const specs: OperationSpec[] = [
  {
    name: 'ticket.reply',
    targetType: 'ticket',
    kind: 'update',
    params: paramsSchemas['ticket.reply'],
    risk: fixed('medium'),
    reversible: false,
    retrySafety: 'the reply carries the action id as a marker; a retry first looks for it',
  },
  {
    name: 'ticket.add_note',
    targetType: 'ticket',
    kind: 'update',
    params: paramsSchemas['ticket.add_note'],
    risk: fixed('low'),
    reversible: false,
    retrySafety: 'the note carries the action id as a marker; a retry first looks for it',
  },
  {
    name: 'ticket.set_status',
    targetType: 'ticket',
    kind: 'update',
    params: paramsSchemas['ticket.set_status'],
    risk: fixed('medium'),
    reversible: true,
    inverse: setBack('ticket.set_status', 'status'),
    retrySafety: 'conditional on the expected revision; setting a status twice is idempotent',
  },
  {
    name: 'ticket.assign',
    targetType: 'ticket',
    kind: 'update',
    params: paramsSchemas['ticket.assign'],
    risk: fixed('low'),
    reversible: true,
    inverse: setBack('ticket.assign', 'assignee'),
    retrySafety: 'conditional on the expected revision; assigning twice is idempotent',
  },
  {
    name: 'ticket.tag',
    targetType: 'ticket',
    kind: 'update',
    params: paramsSchemas['ticket.tag'],
    risk: fixed('low'),
    reversible: true,
    // Only what the write changed goes back: a tag it added that was there already stays, and
    // one it removed that was not there is not added.
    inverse: (params, before) => {
      const prior = priorValues(before, ['tags']);
      if (!prior || !Array.isArray(prior.tags)) return null;
      const had = new Set(prior.tags as string[]);
      const add = ((params.remove as string[] | undefined) ?? []).filter((tag) => had.has(tag));
      const remove = ((params.add as string[] | undefined) ?? []).filter((tag) => !had.has(tag));
      return { operation: 'ticket.tag', params: { add, remove } };
    },
    retrySafety: 'adding or removing a tag twice is idempotent',
  },
  {
    name: 'contact.create',
    targetType: 'contact',
    kind: 'create',
    params: paramsSchemas['contact.create'],
    risk: fixed('medium'),
    reversible: false,
    retrySafety: 'created by the unique airlock_key property; a retry finds the first copy',
  },
  {
    name: 'contact.update',
    targetType: 'contact',
    kind: 'update',
    params: paramsSchemas['contact.update'],
    risk: fixed('medium'),
    reversible: true,
    inverse: (params, before) => {
      const prior = priorValues(before, Object.keys(params.changes as Record<string, unknown>));
      return prior && { operation: 'contact.update', params: { changes: prior } };
    },
    retrySafety: 'setting fields twice is idempotent; the gateway re-reads and compares first',
  },
  {
    name: 'deal.set_stage',
    targetType: 'deal',
    kind: 'update',
    params: paramsSchemas['deal.set_stage'],
    risk: fixed('medium'),
    reversible: true,
    inverse: setBack('deal.set_stage', 'stage'),
    retrySafety: 'setting a stage twice is idempotent; the gateway re-reads and compares first',
  },
  {
    name: 'note.create',
    targetType: '*',
    kind: 'update',
    params: paramsSchemas['note.create'],
    risk: fixed('low'),
    reversible: false,
    retrySafety: 'created with the unique airlock_key property; a retry finds the first copy',
  },
  {
    name: 'email.send',
    targetType: 'contact',
    kind: 'update',
    params: paramsSchemas['email.send'],
    risk: fixed('medium'),
    reversible: false,
    retrySafety: 'sent with the unique airlock_key property; a retry finds the first send',
  },
  {
    name: 'order.cancel',
    targetType: 'order',
    kind: 'update',
    params: paramsSchemas['order.cancel'],
    risk: fixed('high'),
    reversible: false,
    retrySafety: 'conditional on the expected revision; cancelling twice is idempotent',
  },
  {
    name: 'discount.apply',
    targetType: 'order',
    kind: 'update',
    params: paramsSchemas['discount.apply'],
    risk: (params, limits, record) =>
      discountedSoFar(record, params.currency) + (params.amount as number) >
      limits.discountApprovalAbove
        ? 'high'
        : 'medium',
    reversible: false,
    retrySafety: 'applied with the unique airlock_key; a retry finds the first application',
  },
];

/** Every operation, by name. */
export const catalogue: ReadonlyMap<string, OperationSpec> = new Map(
  specs.map((spec) => [spec.name, spec]),
);

export const OPERATION_NAMES: readonly string[] = specs.map((spec) => spec.name);
