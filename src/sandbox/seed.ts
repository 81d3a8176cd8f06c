import { z } from 'zod';
import { AppError } from '../errors.js';
import { createCrmObject, crmCreateSchema } from './crm.js';
import { createTicket, updateTicket } from './helpdesk.js';
import {
  COMMENT_KINDS,
  type CrmObject,
  crmView,
  ORDER_STATUSES,
  type Order,
  orderView,
  TICKET_STATUSES,
  type Ticket,
  ticketView,
} from './records.js';
import { isoNow, nextId, type SandboxState } from './state.js';

const crmSeed = crmCreateSchema.strict();

/** `POST /_seed` body: records to put in place, each list optional. */
export const seedSchema = z.strictObject({
  contacts: z.array(crmSeed).max(10_000).optional(),
  deals: z.array(crmSeed).max(10_000).optional(),
  tickets: z
    .array(
      z.strictObject({
        subject: z.string().trim().min(1).max(500),
        requesterId: z.string().min(1).optional(),
        status: z.enum(TICKET_STATUSES).optional(),
        assignee: z.string().trim().min(1).max(200).optional(),
        tags: z.array(z.string().trim().min(1).max(100)).max(100).optional(),
        externalId: z.string().min(1).max(255).optional(),
        /** Oldest first; the first must be the customer's message. Default: the subject. */
        comments: z
          .array(z.strictObject({ kind: z.enum(COMMENT_KINDS), body: z.string().min(1) }))
          .min(1)
          .max(1000)
          .optional(),
      }),
    )
    .max(10_000)
    .optional(),
  orders: z
    .array(
      z.strictObject({
        currency: z.string().regex(/^[A-Z]{3}$/),
        subtotal: z.number().nonnegative().max(100_000_000),
        status: z.enum(ORDER_STATUSES).optional(),
        contactId: z.string().min(1).optional(),
      }),
    )
    .max(10_000)
    .optional(),
});
export type SeedInput = z.input<typeof seedSchema>;

/** What was seeded, in the order given, as the API shows each record. */
export interface SeedResult {
  readonly contacts: Record<string, unknown>[];
  readonly deals: Record<string, unknown>[];
  readonly tickets: Record<string, unknown>[];
  readonly orders: Record<string, unknown>[];
}

/**
 * Puts records in place without counting them as writes and without webhooks: set-up for a
 * test or a demo. Contacts first, so tickets, deals and orders can name them.
 */
export function seedRecords(state: SandboxState, raw: SeedInput): SeedResult {
  const input = seedSchema.parse(raw);
  const quiet = { actor: 'seed', actionId: null };
  state.recording = false;
  try {
    const contacts = (input.contacts ?? []).map((c) => createCrmObject(state, 'contact', c, quiet));
    const deals = (input.deals ?? []).map((d) => createCrmObject(state, 'deal', d, quiet));
    const tickets = (input.tickets ?? []).map((seed) => seedTicket(state, seed, quiet));
    const orders = (input.orders ?? []).map((seed) => seedOrder(state, seed));
    return {
      contacts: contacts.map((c: CrmObject) => crmView(c)),
      deals: deals.map((d: CrmObject) => crmView(d)),
      tickets: tickets.map((t: Ticket) => ticketView(t)),
      orders: orders.map((o: Order) => orderView(o)),
    };
  } finally {
    state.recording = true;
  }
}

type TicketSeed = NonNullable<z.output<typeof seedSchema>['tickets']>[number];

function seedTicket(
  state: SandboxState,
  seed: TicketSeed,
  quiet: { actor: string; actionId: null },
): Ticket {
  const [first, ...rest] = seed.comments ?? [{ kind: 'message' as const, body: seed.subject }];
  if (first?.kind !== 'message') {
    throw new AppError('invalid-request', 400, 'a seeded ticket starts with the customer message');
  }
  const { ticket } = createTicket(
    state,
    {
      subject: seed.subject,
      comment: { body: first.body },
      requesterId: seed.requesterId,
      assignee: seed.assignee,
      tags: seed.tags,
      externalId: seed.externalId,
    },
    quiet,
  );
  const id = String(ticket.id);
  for (const comment of rest) updateTicket(state, id, { comment }, quiet);
  // The status last: a later customer message would have reopened it.
  if (seed.status !== undefined) updateTicket(state, id, { status: seed.status }, quiet);
  return state.tickets.get(id) as Ticket;
}

function seedOrder(
  state: SandboxState,
  seed: NonNullable<z.output<typeof seedSchema>['orders']>[number],
): Order {
  if (seed.contactId !== undefined && state.crm.get(seed.contactId)?.type !== 'contact') {
    throw new AppError('invalid-request', 400, `contact ${seed.contactId} does not exist`);
  }
  const at = isoNow(state);
  const order: Order = {
    id: nextId(state),
    status: seed.status ?? 'open',
    currency: seed.currency,
    subtotal: seed.subtotal,
    total: seed.subtotal,
    contactId: seed.contactId ?? null,
    discounts: [],
    cancelReason: null,
    createdAt: at,
    updatedAt: at,
    revision: 1,
  };
  state.orders.set(order.id, order);
  return order;
}
