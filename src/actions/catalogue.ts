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
  /** `high` always waits for a human approval. */
  risk(params: Record<string, unknown>, limits: CatalogueLimits): Risk;
  readonly reversible: boolean;
  /**
   * The operation and params that undo this one, given what it changed; only when reversible.
   * `before` is the effect's before-state of the fields the operation changed.
   */
  inverse?(
    params: Record<string, unknown>,
    before: Readonly<Record<string, unknown>>,
  ): {
    operation: string;
    params: Record<string, unknown>;
  };
  /** How the connector makes a retry safe: said in the docs and the trace. */
  readonly retrySafety: string;
}

/** Thresholds from the config that move an operation's risk. */
export interface CatalogueLimits {
  /** `discount.apply` above this amount is high risk. Default 50. */
  readonly discountApprovalAbove: number;
}

const text = (max: number) => z.string().trim().min(1).max(max);
const fixed = (risk: Risk) => () => risk;

const ticketStatus = z.enum(['new', 'open', 'pending', 'hold', 'solved', 'closed']);
const fieldValue = z.union([z.string().max(2000), z.number(), z.boolean(), z.null()]);

const specs: OperationSpec[] = [
  {
    name: 'ticket.reply',
    targetType: 'ticket',
    kind: 'update',
    params: z.strictObject({ body: text(20_000) }),
    risk: fixed('medium'),
    reversible: false,
    retrySafety: 'the reply carries the action id as a marker; a retry first looks for it',
  },
  {
    name: 'ticket.add_note',
    targetType: 'ticket',
    kind: 'update',
    params: z.strictObject({ body: text(20_000) }),
    risk: fixed('low'),
    reversible: false,
    retrySafety: 'the note carries the action id as a marker; a retry first looks for it',
  },
  {
    name: 'ticket.set_status',
    targetType: 'ticket',
    kind: 'update',
    params: z.strictObject({ status: ticketStatus, reason: text(500).optional() }),
    risk: fixed('medium'),
    reversible: true,
    inverse: (_params, before) => ({
      operation: 'ticket.set_status',
      params: { status: before.status },
    }),
    retrySafety: 'conditional on the expected revision; setting a status twice is idempotent',
  },
  {
    name: 'ticket.assign',
    targetType: 'ticket',
    kind: 'update',
    params: z.strictObject({ assignee: text(200) }),
    risk: fixed('low'),
    reversible: true,
    inverse: (_params, before) => ({
      operation: 'ticket.assign',
      params: { assignee: before.assignee },
    }),
    retrySafety: 'conditional on the expected revision; assigning twice is idempotent',
  },
  {
    name: 'ticket.tag',
    targetType: 'ticket',
    kind: 'update',
    params: z
      .strictObject({
        add: z.array(text(100)).max(50).default([]),
        remove: z.array(text(100)).max(50).default([]),
      })
      .refine((p) => p.add.length + p.remove.length > 0, 'add or remove at least one tag'),
    risk: fixed('low'),
    reversible: true,
    inverse: (params) => ({
      operation: 'ticket.tag',
      params: { add: params.remove, remove: params.add },
    }),
    retrySafety: 'adding or removing a tag twice is idempotent',
  },
  {
    name: 'contact.create',
    targetType: 'contact',
    kind: 'create',
    params: z.strictObject({
      email: z.email().max(320),
      name: text(200).optional(),
      phone: text(50).optional(),
      company: text(200).optional(),
    }),
    risk: fixed('medium'),
    reversible: false,
    retrySafety: 'created by the unique airlock_key property; a retry finds the first copy',
  },
  {
    name: 'contact.update',
    targetType: 'contact',
    kind: 'update',
    params: z.strictObject({
      changes: z
        .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/), fieldValue)
        .refine((changes) => Object.keys(changes).length > 0, 'change at least one field'),
    }),
    risk: fixed('medium'),
    reversible: true,
    inverse: (params, before) => ({
      operation: 'contact.update',
      params: {
        changes: Object.fromEntries(
          Object.keys(params.changes as Record<string, unknown>).map((field) => [
            field,
            before[field] ?? null,
          ]),
        ),
      },
    }),
    retrySafety: 'setting fields twice is idempotent; the gateway re-reads and compares first',
  },
  {
    name: 'deal.set_stage',
    targetType: 'deal',
    kind: 'update',
    params: z.strictObject({ stage: text(100) }),
    risk: fixed('medium'),
    reversible: true,
    inverse: (_params, before) => ({
      operation: 'deal.set_stage',
      params: { stage: before.stage },
    }),
    retrySafety: 'setting a stage twice is idempotent; the gateway re-reads and compares first',
  },
  {
    name: 'note.create',
    targetType: '*',
    kind: 'update',
    params: z.strictObject({ body: text(20_000) }),
    risk: fixed('low'),
    reversible: false,
    retrySafety: 'created with the unique airlock_key property; a retry finds the first copy',
  },
  {
    name: 'email.send',
    targetType: 'contact',
    kind: 'update',
    params: z.strictObject({ subject: text(500), body: text(50_000) }),
    risk: fixed('medium'),
    reversible: false,
    retrySafety: 'sent with the unique airlock_key property; a retry finds the first send',
  },
  {
    name: 'order.cancel',
    targetType: 'order',
    kind: 'update',
    params: z.strictObject({ reason: text(500) }),
    risk: fixed('high'),
    reversible: false,
    retrySafety: 'conditional on the expected revision; cancelling twice is idempotent',
  },
  {
    name: 'discount.apply',
    targetType: 'order',
    kind: 'update',
    params: z.strictObject({
      amount: z.number().positive().max(1_000_000),
      currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code like EUR'),
      code: text(100).optional(),
    }),
    risk: (params, limits) =>
      (params.amount as number) > limits.discountApprovalAbove ? 'high' : 'medium',
    reversible: false,
    retrySafety: 'applied with the unique airlock_key; a retry finds the first application',
  },
];

/** Every operation, by name. */
export const catalogue: ReadonlyMap<string, OperationSpec> = new Map(
  specs.map((spec) => [spec.name, spec]),
);

export const OPERATION_NAMES: readonly string[] = specs.map((spec) => spec.name);
