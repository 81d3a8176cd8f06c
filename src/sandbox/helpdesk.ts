import { z } from 'zod';
import { AppError } from '../errors.js';
import {
  COMMENT_KINDS,
  type Comment,
  type CommentKind,
  TICKET_STATUSES,
  type Ticket,
  ticketView,
} from './records.js';
import { notFound } from './request.js';
import { checkExpectedRevision, expectedRevisionSchema } from './revision.js';
import {
  type Actor,
  commitWrite,
  type FieldChange,
  isoNow,
  nextId,
  type SandboxState,
} from './state.js';

const tag = z.string().trim().min(1).max(100);
const body = z.string().min(1).max(65_536);
const person = z.string().trim().min(1).max(200);

/** `POST /api/tickets` body. */
export const ticketCreateSchema = z.strictObject({
  subject: z.string().trim().min(1).max(500),
  /** The customer's first message. */
  comment: z.strictObject({ body }),
  requesterId: z.string().min(1).optional(),
  status: z.enum(TICKET_STATUSES).optional(),
  assignee: person.nullable().optional(),
  tags: z.array(tag).max(100).optional(),
  externalId: z.string().min(1).max(255).optional(),
});
/** A ticket create as validated. */
export type TicketCreate = z.output<typeof ticketCreateSchema>;

/** `PUT /api/tickets/:id` body: like Zendesk's ticket update, one comment at most. */
export const ticketUpdateSchema = z.strictObject({
  /** When given, the update applies only at this revision (Zendesk `safe_update`). */
  expectedRevision: expectedRevisionSchema.optional(),
  subject: z.string().trim().min(1).max(500).optional(),
  status: z.enum(TICKET_STATUSES).optional(),
  assignee: person.nullable().optional(),
  /** Replaces the whole tag list; `addTags`/`removeTags` then apply to it. */
  tags: z.array(tag).max(100).optional(),
  addTags: z.array(tag).max(100).optional(),
  removeTags: z.array(tag).max(100).optional(),
  comment: z
    .strictObject({
      kind: z.enum(COMMENT_KINDS),
      body,
      marker: z.string().trim().min(1).max(200).optional(),
    })
    .optional(),
  externalId: z.string().min(1).max(255).nullable().optional(),
});
/** A ticket update as validated. */
export type TicketUpdate = z.output<typeof ticketUpdateSchema>;

/** What the ticket endpoints answer with: the ticket and the audit of this request's changes. */
export interface TicketResult {
  readonly ticket: Record<string, unknown>;
  readonly audit: {
    readonly revision: number;
    readonly actor: string | null;
    readonly actionId: string | null;
    /** `Change` (field, previous, value) and `Comment` events; empty when nothing changed. */
    readonly events: readonly Record<string, unknown>[];
  };
}

/** Creates a ticket with the customer's first message. */
export function createTicket(state: SandboxState, input: TicketCreate, by: Actor): TicketResult {
  if (input.requesterId !== undefined) requireContact(state, input.requesterId);
  const at = isoNow(state);
  const ticket: Ticket = {
    id: nextId(state),
    subject: input.subject,
    status: input.status ?? 'new',
    assignee: input.assignee ?? null,
    tags: unique(input.tags ?? []),
    requesterId: input.requesterId ?? null,
    externalId: input.externalId ?? null,
    lastCustomerMessageAt: at,
    lastAgentReplyAt: null,
    createdAt: at,
    updatedAt: at,
    revision: 1,
    comments: [],
  };
  const comment = addComment(state, ticket, 'message', input.comment.body, null, by, 1);
  state.tickets.set(ticket.id, ticket);
  const changes: FieldChange[] = [{ field: 'comment', previous: null, value: comment }];
  commitWrite(state, {
    ...by,
    operation: 'ticket.create',
    system: 'helpdesk',
    kind: 'created',
    record: { type: 'ticket', id: ticket.id },
    revision: ticket.revision,
    changes,
    snapshot: ticketView(ticket),
  });
  return resultOf(ticket, changes, by);
}

/**
 * Applies an update: fields, tags and at most one comment, all at one new revision. Refuses a
 * stale `expectedRevision` (409) and any change to a closed ticket (422), as Zendesk does. An
 * update that changes nothing keeps the revision and is not a write.
 */
export function updateTicket(
  state: SandboxState,
  id: string,
  input: TicketUpdate,
  by: Actor,
): TicketResult {
  const ticket = state.tickets.get(id);
  if (!ticket) throw notFound('ticket', id);
  checkExpectedRevision(ticket, `ticket ${id}`, input.expectedRevision);
  if (ticket.status === 'closed') {
    throw new AppError('ticket-closed', 422, `ticket ${id} is closed and can no longer change`);
  }
  const changes: FieldChange[] = [];
  const set = <K extends 'subject' | 'status' | 'assignee' | 'externalId'>(
    field: K,
    value: Ticket[K] | undefined,
  ) => {
    if (value === undefined || ticket[field] === value) return;
    changes.push({ field, previous: ticket[field], value });
    ticket[field] = value;
  };
  set('subject', input.subject);
  set('assignee', input.assignee);
  set('externalId', input.externalId);
  const tags = nextTags(ticket.tags, input);
  if (!sameList(tags, ticket.tags)) {
    changes.push({ field: 'tags', previous: ticket.tags, value: tags });
    ticket.tags = tags;
  }
  // A customer writing again reopens a ticket that was waiting or solved, as Zendesk does,
  // unless the same update sets a status itself.
  const reopens = input.comment?.kind === 'message' && input.status === undefined;
  set('status', reopens && ticket.status !== 'new' ? 'open' : input.status);
  const revision = ticket.revision + 1;
  if (input.comment) {
    const { kind, body: text, marker } = input.comment;
    const comment = addComment(state, ticket, kind, text, marker ?? null, by, revision);
    changes.push({ field: 'comment', previous: null, value: comment });
  }
  if (changes.length === 0) return resultOf(ticket, changes, by);
  ticket.revision = revision;
  ticket.updatedAt = isoNow(state);
  commitWrite(state, {
    ...by,
    operation: 'ticket.update',
    system: 'helpdesk',
    kind: 'updated',
    record: { type: 'ticket', id },
    revision,
    changes,
    snapshot: ticketView(ticket),
  });
  return resultOf(ticket, changes, by);
}

/** A ticket's comments, oldest first; only those carrying `marker` when it is given. */
export function listComments(state: SandboxState, id: string, marker?: string): Comment[] {
  const ticket = state.tickets.get(id);
  if (!ticket) throw notFound('ticket', id);
  return ticket.comments.filter((comment) => marker === undefined || comment.marker === marker);
}

function addComment(
  state: SandboxState,
  ticket: Ticket,
  kind: CommentKind,
  text: string,
  marker: string | null,
  by: Actor,
  revision: number,
): Comment {
  const at = isoNow(state);
  const comment: Comment = {
    id: nextId(state),
    kind,
    body: text,
    public: kind !== 'note',
    author: by.actor,
    marker,
    createdAt: at,
    revision,
  };
  ticket.comments.push(comment);
  if (kind === 'message') ticket.lastCustomerMessageAt = at;
  if (kind === 'reply') ticket.lastAgentReplyAt = at;
  return comment;
}

function requireContact(state: SandboxState, id: string): void {
  if (state.crm.get(id)?.type !== 'contact') {
    throw new AppError('unknown-requester', 422, `requester ${id} is not a contact`);
  }
}

function nextTags(current: readonly string[], input: TicketUpdate): string[] {
  const removed = new Set(input.removeTags ?? []);
  const tags = [...(input.tags ?? current), ...(input.addTags ?? [])];
  return unique(tags).filter((name) => !removed.has(name));
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, index) => value === b[index]);
}

function resultOf(ticket: Ticket, changes: readonly FieldChange[], by: Actor): TicketResult {
  return {
    ticket: ticketView(ticket),
    audit: {
      revision: ticket.revision,
      ...by,
      events: changes.map((change) =>
        change.field === 'comment'
          ? { type: 'Comment', ...(change.value as Comment) }
          : { type: 'Change', ...change },
      ),
    },
  };
}
