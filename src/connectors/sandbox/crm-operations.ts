import { z } from 'zod';
import type { Effect, ReconcileOutcome, WriteOutcome, WriteRequest } from '../connector.js';
import {
  defineOperation,
  pick,
  refOf,
  type SandboxContext,
  type SandboxOperation,
} from './operation.js';
import { failedReadOutcome, failureOutcome, unknownOutcome, writeOutcome } from './outcome.js';
import {
  collectionPath,
  fetchRecord,
  recordOf,
  recordPath,
  type SandboxRecord,
} from './records.js';
import { ticketNote } from './ticket-operations.js';

const text = z.string().trim().min(1);
const value = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** The unique property Airlock's idempotency key is written into (HubSpot `hasUniqueValue`). */
const KEY_PROPERTY = 'airlock_key';

/**
 * The CRM has no conditional update, so the connector reads the target and compares its
 * revision itself before writing. A race window stays between the read and the write; the
 * gateway closes it by serialising writes per record.
 */
async function readCompare(
  ctx: SandboxContext,
  request: WriteRequest,
): Promise<{ record: SandboxRecord } | { outcome: WriteOutcome }> {
  const { type, id } = request.target;
  const fetched = await fetchRecord(ctx.http, type, id);
  if (fetched.kind === 'failed') return { outcome: failedReadOutcome(fetched.result) };
  if (fetched.kind === 'missing') {
    return { outcome: { kind: 'permanent', status: 404, message: `${type} ${id} not found` } };
  }
  const { revision } = fetched.record;
  if (request.expectedRevision !== null && revision !== request.expectedRevision) {
    const message = `${type} ${id} is at revision ${revision}, not ${request.expectedRevision} (compared by the connector)`;
    return { outcome: { kind: 'conflict', status: 409, message } };
  }
  return { record: fetched.record };
}

/** PATCH properties of the target after a read-compare; effect = those properties before/after. */
async function patchProperties(
  ctx: SandboxContext,
  request: WriteRequest,
  properties: Record<string, unknown>,
  rename: (property: string) => string = (property) => property,
): Promise<WriteOutcome> {
  const read = await readCompare(ctx, request);
  if ('outcome' in read) return read.outcome;
  const { type, id } = request.target;
  const result = await ctx.http.call('PATCH', recordPath(type, id), {
    body: { properties },
    actionId: request.actionId,
  });
  const names = Object.keys(properties);
  const named = (record: Record<string, unknown>) =>
    Object.fromEntries(names.map((name) => [rename(name), record[name] ?? null]));
  // Unconditional: a 409 here is a unique value (an email) held by another record.
  return writeOutcome(result, false, (response) => {
    const after = recordOf(type, response.body);
    return {
      before: named(read.record.data),
      after: named(after.data),
      ref: refOf(ctx, type, id),
      revision: after.revision,
    };
  });
}

/** Reconciles a property write by checking the record now holds the values written. */
async function reconcileProperties(
  ctx: SandboxContext,
  request: WriteRequest,
  properties: Record<string, unknown>,
  rename: (property: string) => string = (property) => property,
): Promise<ReconcileOutcome> {
  const { type, id } = request.target;
  const fetched = await fetchRecord(ctx.http, type, id);
  if (fetched.kind === 'failed') return unknownOutcome(fetched.result);
  if (fetched.kind === 'missing') return { kind: 'not_applied' };
  const data = fetched.record.data;
  const names = Object.keys(properties);
  if (!names.every((name) => (data[name] ?? null) === properties[name]))
    return { kind: 'not_applied' };
  const after = Object.fromEntries(names.map((name) => [rename(name), data[name] ?? null]));
  return {
    kind: 'applied',
    effect: { before: null, after, ref: refOf(ctx, type, id), revision: fetched.record.revision },
  };
}

/**
 * Creates a CRM record carrying the idempotency key in the unique `airlock_key`. HubSpot has no
 * idempotency key, so the unique property stands in: a second create with the key is refused
 * with 409, and the record holding the key is the first create, which is then the answer.
 */
async function createKeyed(
  ctx: SandboxContext,
  request: WriteRequest,
  type: string,
  properties: Record<string, unknown>,
  associations: { type: string; id: string }[] = [],
): Promise<WriteOutcome> {
  const result = await ctx.http.call('POST', collectionPath(type), {
    body: { properties: { ...properties, [KEY_PROPERTY]: request.idempotencyKey }, associations },
    actionId: request.actionId,
  });
  const fields = Object.keys(properties);
  if (result.kind === 'response' && result.status === 409) {
    const earlier = await findKeyed(ctx, request, type, fields);
    if (earlier.kind === 'applied') return { kind: 'applied', status: 200, effect: earlier.effect };
    if (earlier.kind === 'not_applied') return failureOutcome(result, false);
    return { kind: 'retry', status: 409, message: earlier.message, retryAfterMs: null };
  }
  return writeOutcome(result, false, (response) =>
    createdEffect(ctx, type, recordOf(type, response.body), fields),
  );
}

/** The record created with this request's key, looked up by the unique `airlock_key`. */
async function findKeyed(
  ctx: SandboxContext,
  request: WriteRequest,
  type: string,
  fields: readonly string[],
): Promise<ReconcileOutcome> {
  const fetched = await fetchRecord(ctx.http, type, request.idempotencyKey, KEY_PROPERTY);
  if (fetched.kind === 'failed') return unknownOutcome(fetched.result);
  if (fetched.kind === 'missing') return { kind: 'not_applied' };
  return { kind: 'applied', effect: createdEffect(ctx, type, fetched.record, fields) };
}

function createdEffect(
  ctx: SandboxContext,
  type: string,
  record: SandboxRecord,
  fields: readonly string[],
): Effect {
  return {
    before: null,
    after: { id: record.data.id, ...pick(record.data, fields) },
    ref: refOf(ctx, type, record.data.id),
    revision: record.revision,
  };
}

const contactCreate = defineOperation({
  targetTypes: ['contact'],
  // Further fields go through as properties; the CRM refuses those it does not have.
  params: z.object({ email: text }).catchall(value),
  execute: (ctx, request, params) => createKeyed(ctx, request, 'contact', params),
  reconcile: (ctx, request, params) => findKeyed(ctx, request, 'contact', Object.keys(params)),
});

const changesParams = z.object({
  changes: z
    .record(z.string().min(1), value)
    .refine((changes) => Object.keys(changes).length > 0, 'no changes'),
});

const contactUpdate = defineOperation({
  targetTypes: ['contact'],
  params: changesParams,
  execute: (ctx, request, params) => patchProperties(ctx, request, params.changes),
  reconcile: (ctx, request, params) => reconcileProperties(ctx, request, params.changes),
});

const stageName = (property: string) => (property === 'dealstage' ? 'stage' : property);

const dealSetStage = defineOperation({
  targetTypes: ['deal'],
  params: z.object({ stage: text }),
  execute: (ctx, request, params) =>
    patchProperties(ctx, request, { dealstage: params.stage }, stageName),
  reconcile: (ctx, request, params) =>
    reconcileProperties(ctx, request, { dealstage: params.stage }, stageName),
});

/**
 * A note on a CRM record or order (a CRM note associated with it, keyed by `airlock_key`), or on
 * a ticket (an internal comment with the action id as marker).
 */
const noteCreate = defineOperation({
  targetTypes: ['contact', 'deal', 'order', 'ticket'],
  params: z.object({ body: text }),
  async execute(ctx, request, params) {
    if (request.target.type === 'ticket') return ticketNote.execute(ctx, request, params);
    const read = await readCompare(ctx, request);
    if ('outcome' in read) return read.outcome;
    const { type, id } = request.target;
    return createKeyed(ctx, request, 'note', { hs_note_body: params.body }, [{ type, id }]);
  },
  reconcile(ctx, request, params) {
    if (request.target.type === 'ticket') return ticketNote.reconcile(ctx, request, params);
    return findKeyed(ctx, request, 'note', ['hs_note_body']);
  },
});

/** An email to a contact: an email record associated with it, keyed by `airlock_key`. */
const emailSend = defineOperation({
  targetTypes: ['contact'],
  params: z.object({ subject: text, body: text }),
  async execute(ctx, request, params) {
    const read = await readCompare(ctx, request);
    if ('outcome' in read) return read.outcome;
    const to = read.record.data.email;
    if (typeof to !== 'string' || to === '') {
      return {
        kind: 'permanent',
        status: 422,
        message: `contact ${request.target.id} has no email address`,
      };
    }
    const properties = {
      hs_email_subject: params.subject,
      hs_email_text: params.body,
      hs_email_to: to,
    };
    return createKeyed(ctx, request, 'email', properties, [
      { type: 'contact', id: request.target.id },
    ]);
  },
  reconcile: (ctx, request) =>
    findKeyed(ctx, request, 'email', ['hs_email_subject', 'hs_email_text', 'hs_email_to']),
});

/** The CRM's operations, by catalogue name. */
export const crmOperations: Readonly<Record<string, SandboxOperation>> = {
  'contact.create': contactCreate,
  'contact.update': contactUpdate,
  'deal.set_stage': dealSetStage,
  'note.create': noteCreate,
  'email.send': emailSend,
};
