import { z } from 'zod';
import type { WriteOutcome, WriteRequest } from '../connector.js';
import {
  defineOperation,
  pick,
  refOf,
  type SandboxContext,
  type SandboxOperation,
} from './operation.js';
import { unknownOutcome, writeOutcome } from './outcome.js';
import { fetchRecord, recordPath } from './records.js';

type OrderAnswer = {
  order: Record<string, unknown> & { id: string; revision: number };
  changes: { field: string; previous: unknown; value: unknown }[];
  discount?: Record<string, unknown>;
};

const DISCOUNT_FIELDS = ['id', 'amount', 'currency', 'code'];

/** POST to an order endpoint with the expected revision, which the order system honours. */
async function postOrder(
  ctx: SandboxContext,
  request: WriteRequest,
  action: string,
  body: Record<string, unknown>,
  fields: readonly string[],
): Promise<WriteOutcome> {
  const conditional = request.expectedRevision !== null;
  const result = await ctx.http.call(
    'POST',
    `${recordPath('order', request.target.id)}/${action}`,
    {
      body: conditional ? { ...body, expectedRevision: request.expectedRevision } : body,
      actionId: request.actionId,
    },
  );
  return writeOutcome(result, conditional, (response) => {
    const answer = response.body as OrderAnswer;
    const previous = Object.fromEntries(
      answer.changes.map((change) => [change.field, change.previous]),
    );
    const after = pick(answer.order, fields);
    return {
      // Nothing changed (already cancelled, a repeated key): there is no before to show.
      before: answer.changes.length === 0 ? null : { ...after, ...pick(previous, fields) },
      after: answer.discount
        ? { ...after, discount: pick(answer.discount, DISCOUNT_FIELDS) }
        : after,
      ref: refOf(ctx, 'order', answer.order.id),
      revision: String(answer.order.revision),
    };
  });
}

/** Cancels at the expected revision; reconciled by reading the order's status. */
const orderCancel = defineOperation({
  targetTypes: ['order'],
  params: z.object({ reason: z.string().trim().min(1) }),
  execute: (ctx, request, params) =>
    postOrder(ctx, request, 'cancel', { reason: params.reason }, ['status']),
  async reconcile(ctx, request) {
    const fetched = await fetchRecord(ctx.http, 'order', request.target.id);
    if (fetched.kind === 'failed') return unknownOutcome(fetched.result);
    if (fetched.kind === 'missing' || fetched.record.data.status !== 'cancelled')
      return { kind: 'not_applied' };
    const effect = {
      before: null,
      after: { status: 'cancelled' },
      ref: refOf(ctx, 'order', request.target.id),
      revision: fetched.record.revision,
    };
    return { kind: 'applied', effect };
  },
});

/**
 * Applies a discount at the expected revision, with the idempotency key as `airlock_key`: the
 * order system answers a repeated key with the first discount, and reconcile finds it on the
 * order by that key.
 */
const discountApply = defineOperation({
  targetTypes: ['order'],
  params: z.object({
    amount: z.number().positive(),
    currency: z.string().min(1),
    code: z.string().min(1).optional(),
  }),
  execute: (ctx, request, params) =>
    postOrder(ctx, request, 'discounts', { ...params, airlock_key: request.idempotencyKey }, [
      'total',
    ]),
  async reconcile(ctx, request) {
    const fetched = await fetchRecord(ctx.http, 'order', request.target.id);
    if (fetched.kind === 'failed') return unknownOutcome(fetched.result);
    if (fetched.kind === 'missing') return { kind: 'not_applied' };
    const discounts =
      (fetched.record.data.discounts as Record<string, unknown>[] | undefined) ?? [];
    const discount = discounts.find((d) => d.airlock_key === request.idempotencyKey);
    if (!discount) return { kind: 'not_applied' };
    const effect = {
      before: null,
      after: { total: fetched.record.data.total, discount: pick(discount, DISCOUNT_FIELDS) },
      ref: refOf(ctx, 'order', request.target.id),
      revision: fetched.record.revision,
    };
    return { kind: 'applied', effect };
  },
});

/** The order system's operations, by catalogue name. */
export const orderOperations: Readonly<Record<string, SandboxOperation>> = {
  'order.cancel': orderCancel,
  'discount.apply': discountApply,
};
