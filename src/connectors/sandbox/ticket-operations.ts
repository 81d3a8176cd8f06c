import { z } from 'zod';
import type { Effect, ReconcileOutcome, WriteOutcome, WriteRequest } from '../connector.js';
import {
  defineOperation,
  pick,
  refOf,
  type SandboxContext,
  type SandboxOperation,
} from './operation.js';
import { unknownOutcome, writeOutcome } from './outcome.js';
import { fetchRecord, recordPath } from './records.js';

const text = z.string().trim().min(1);

const COMMENT_FIELDS = ['id', 'kind', 'body', 'public', 'marker', 'createdAt'];

type TicketAnswer = {
  ticket: Record<string, unknown> & { id: string; revision: number };
  audit: {
    events: (Record<string, unknown> & { type: string; field?: string; previous?: unknown })[];
  };
};

/**
 * PUT a ticket update. The expected revision goes down with it (Zendesk `safe_update`), so a
 * write on a ticket that moved on comes back 409 → `conflict`.
 */
async function updateTicket(
  ctx: SandboxContext,
  request: WriteRequest,
  body: Record<string, unknown>,
  effectOf: (answer: TicketAnswer) => Pick<Effect, 'before' | 'after'>,
): Promise<WriteOutcome> {
  const conditional = request.expectedRevision !== null;
  const result = await ctx.http.call('PUT', recordPath('ticket', request.target.id), {
    body: conditional ? { ...body, expectedRevision: request.expectedRevision } : body,
    actionId: request.actionId,
  });
  return writeOutcome(result, conditional, (response) => {
    const answer = response.body as TicketAnswer;
    return {
      ...effectOf(answer),
      ref: refOf(ctx, 'ticket', answer.ticket.id),
      revision: String(answer.ticket.revision),
    };
  });
}

/** A field set by an update: before from the audit (unchanged: the value as it stays). */
function fieldEffect(answer: TicketAnswer, field: string) {
  const change = answer.audit.events.find(
    (event) => event.type === 'Change' && event.field === field,
  );
  const after = answer.ticket[field] ?? null;
  return { before: { [field]: change ? change.previous : after }, after: { [field]: after } };
}

/**
 * A comment (reply or note) carrying the action id as its marker. Reconciled by looking the
 * marker up in the ticket's comments: the comment found is the write that landed.
 */
function commentOperation(kind: 'reply' | 'note'): SandboxOperation {
  return defineOperation({
    targetTypes: ['ticket'],
    params: z.object({ body: text }),
    execute: (ctx, request, params) =>
      updateTicket(
        ctx,
        request,
        { comment: { kind, body: params.body, marker: request.actionId } },
        (answer) => {
          const added = answer.audit.events.find((event) => event.type === 'Comment');
          return { before: null, after: { comment: pick(added ?? {}, COMMENT_FIELDS) } };
        },
      ),
    reconcile: (ctx, request) => reconcileComment(ctx, request),
  });
}

async function reconcileComment(
  ctx: SandboxContext,
  request: WriteRequest,
): Promise<ReconcileOutcome> {
  const path = `${recordPath('ticket', request.target.id)}/comments?marker=${encodeURIComponent(request.actionId)}`;
  const result = await ctx.http.call('GET', path);
  if (result.kind === 'response' && result.status === 404) return { kind: 'not_applied' };
  if (result.kind !== 'response' || result.status !== 200) return unknownOutcome(result);
  const [comment] = (result.body as { comments: Record<string, unknown>[] }).comments;
  if (!comment) return { kind: 'not_applied' };
  return {
    kind: 'applied',
    effect: {
      before: null,
      after: { comment: pick(comment, COMMENT_FIELDS) },
      ref: refOf(ctx, 'ticket', request.target.id),
      revision: String(comment.revision),
    },
  };
}

/**
 * A set-style ticket update (status, assignee, tags): reconciled by reading the ticket and
 * checking it is in the state the write aimed at. The before-state is then unknown (null).
 */
function setOperation<S extends z.ZodType<Record<string, unknown>>>(spec: {
  params: S;
  field: string;
  body(params: z.output<S>): Record<string, unknown>;
  reached(ticket: Record<string, unknown>, params: z.output<S>): boolean;
}): SandboxOperation {
  return defineOperation({
    targetTypes: ['ticket'],
    params: spec.params,
    execute: (ctx, request, params) =>
      updateTicket(ctx, request, spec.body(params), (answer) => fieldEffect(answer, spec.field)),
    async reconcile(ctx, request, params) {
      const fetched = await fetchRecord(ctx.http, 'ticket', request.target.id);
      if (fetched.kind === 'failed') return unknownOutcome(fetched.result);
      if (fetched.kind === 'missing' || !spec.reached(fetched.record.data, params)) {
        return { kind: 'not_applied' };
      }
      const after = { [spec.field]: fetched.record.data[spec.field] ?? null };
      const ref = refOf(ctx, 'ticket', request.target.id);
      return {
        kind: 'applied',
        effect: { before: null, after, ref, revision: fetched.record.revision },
      };
    },
  });
}

const tagParams = z.object({
  add: z.array(text).default([]),
  remove: z.array(text).default([]),
});

/**
 * `ticket.create` makes a ticket with the customer's first message. It sends the idempotency key
 * (`Idempotency-Key`, honoured 2 h, so a retry cannot create a second ticket) and the action id
 * as `externalId`. Reconcile lists tickets by that `externalId`: replaying the create to learn
 * whether it landed would create the ticket when it had not, and reconcile only looks.
 */
const createTicket = defineOperation({
  targetTypes: ['ticket'],
  params: z.object({
    subject: text,
    body: text,
    requesterId: text.optional(),
    tags: z.array(text).optional(),
  }),
  async execute(ctx, request, params) {
    const result = await ctx.http.call('POST', '/api/tickets', {
      body: {
        subject: params.subject,
        comment: { body: params.body },
        ...(params.requesterId ? { requesterId: params.requesterId } : {}),
        ...(params.tags ? { tags: params.tags } : {}),
        externalId: request.actionId,
      },
      actionId: request.actionId,
      headers: { 'idempotency-key': request.idempotencyKey },
    });
    return writeOutcome(result, false, (response) => {
      const { ticket } = response.body as TicketAnswer;
      return createdTicketEffect(ctx, ticket);
    });
  },
  async reconcile(ctx, request) {
    const result = await ctx.http.call(
      'GET',
      `/api/tickets?external_id=${encodeURIComponent(request.actionId)}`,
    );
    if (result.kind !== 'response' || result.status !== 200) return unknownOutcome(result);
    const [ticket] = (result.body as { tickets: TicketAnswer['ticket'][] }).tickets;
    return ticket
      ? { kind: 'applied', effect: createdTicketEffect(ctx, ticket) }
      : { kind: 'not_applied' };
  },
});

function createdTicketEffect(ctx: SandboxContext, ticket: TicketAnswer['ticket']): Effect {
  return {
    before: null,
    after: { subject: ticket.subject, status: ticket.status, requesterId: ticket.requesterId },
    ref: refOf(ctx, 'ticket', ticket.id),
    revision: String(ticket.revision),
  };
}

/** The helpdesk's operations, by catalogue name. */
export const ticketOperations: Readonly<Record<string, SandboxOperation>> = {
  'ticket.create': createTicket,
  'ticket.reply': commentOperation('reply'),
  'ticket.add_note': commentOperation('note'),
  'ticket.set_status': setOperation({
    params: z.object({ status: text }),
    field: 'status',
    body: (params) => ({ status: params.status }),
    reached: (ticket, params) => ticket.status === params.status,
  }),
  'ticket.assign': setOperation({
    // null unassigns: the inverse of assigning a ticket that had nobody.
    params: z.object({ assignee: text.nullable() }),
    field: 'assignee',
    body: (params) => ({ assignee: params.assignee }),
    reached: (ticket, params) => (ticket.assignee ?? null) === params.assignee,
  }),
  'ticket.tag': setOperation({
    params: tagParams,
    field: 'tags',
    body: (params) => ({ addTags: params.add, removeTags: params.remove }),
    reached: (ticket, params) => {
      const tags = (ticket.tags as string[] | undefined) ?? [];
      return (
        params.add.every((tag) => tags.includes(tag)) &&
        !params.remove.some((tag) => tags.includes(tag))
      );
    },
  }),
};

/** The note operation's helpdesk half: a note on a ticket is an internal comment. */
export const ticketNote = ticketOperations['ticket.add_note'] as SandboxOperation;
