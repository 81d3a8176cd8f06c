import { z } from 'zod';
import { AppError } from '../errors.js';
import { type Discount, type Order, orderView } from './records.js';
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

/** `POST /orders/:id/cancel` body. */
export const cancelSchema = z.strictObject({
  reason: z.string().trim().min(1).max(500),
  expectedRevision: expectedRevisionSchema.optional(),
});

/** `POST /orders/:id/discounts` body. */
export const discountSchema = z.strictObject({
  amount: z.number().positive().max(1_000_000),
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code like EUR'),
  code: z.string().trim().min(1).max(100).optional(),
  /** Unique across orders: the same key again returns the first discount, applied once. */
  airlock_key: z.string().min(1).max(500).optional(),
  expectedRevision: expectedRevisionSchema.optional(),
});

/** The order, or 404. */
export function findOrder(state: SandboxState, id: string): Order {
  const order = state.orders.get(id);
  if (!order) throw notFound('order', id);
  return order;
}

/**
 * Cancels an order at the expected revision (409 when stale). Cancelling a cancelled order
 * changes nothing; a shipped one cannot be cancelled (422).
 */
export function cancelOrder(
  state: SandboxState,
  id: string,
  input: z.output<typeof cancelSchema>,
  by: Actor,
): { order: Order; changes: FieldChange[] } {
  const order = findOrder(state, id);
  checkExpectedRevision(order, `order ${id}`, input.expectedRevision);
  if (order.status === 'cancelled') return { order, changes: [] };
  if (order.status === 'shipped') {
    throw new AppError('order-shipped', 422, `order ${id} has shipped and cannot be cancelled`);
  }
  const changes: FieldChange[] = [
    { field: 'status', previous: order.status, value: 'cancelled' },
    { field: 'cancelReason', previous: order.cancelReason, value: input.reason },
  ];
  order.status = 'cancelled';
  order.cancelReason = input.reason;
  commitOrder(state, order, 'order.cancel', changes, by);
  return { order, changes };
}

/**
 * Applies a discount at the expected revision. A known `airlock_key` returns the discount it
 * made, before any revision check, so a retry after a landed apply is answered, not refused.
 */
export function applyDiscount(
  state: SandboxState,
  id: string,
  input: z.output<typeof discountSchema>,
  by: Actor,
): { order: Order; discount: Discount; created: boolean; changes: FieldChange[] } {
  const order = findOrder(state, id);
  if (input.airlock_key !== undefined) {
    const earlier = findDiscount(state, input.airlock_key);
    if (earlier && earlier.order.id === id) return { ...earlier, created: false, changes: [] };
    if (earlier) {
      throw new AppError(
        'unique-value-taken',
        409,
        `airlock_key is taken on order ${earlier.order.id}`,
        {
          details: { property: 'airlock_key', existingId: earlier.discount.id },
        },
      );
    }
  }
  checkExpectedRevision(order, `order ${id}`, input.expectedRevision);
  if (order.status === 'cancelled') {
    throw new AppError('order-cancelled', 422, `order ${id} is cancelled`);
  }
  if (input.currency !== order.currency) {
    throw new AppError('currency-mismatch', 422, `order ${id} is in ${order.currency}`);
  }
  if (input.amount > order.total) {
    throw new AppError('discount-exceeds-total', 422, `order ${id} totals ${order.total}`);
  }
  const discount: Discount = {
    id: nextId(state),
    amount: input.amount,
    currency: input.currency,
    code: input.code ?? null,
    airlock_key: input.airlock_key ?? null,
    createdAt: isoNow(state),
  };
  const total = Math.round((order.total - input.amount) * 100) / 100;
  const changes: FieldChange[] = [
    { field: 'discount', previous: null, value: discount },
    { field: 'total', previous: order.total, value: total },
  ];
  order.discounts.push(discount);
  order.total = total;
  if (discount.airlock_key !== null) {
    state.uniqueValues.set(discountKey(discount.airlock_key), order.id);
  }
  commitOrder(state, order, 'order.discount', changes, by);
  return { order, discount, created: true, changes };
}

function findDiscount(
  state: SandboxState,
  key: string,
): { order: Order; discount: Discount } | null {
  const orderId = state.uniqueValues.get(discountKey(key));
  const order = orderId === undefined ? undefined : state.orders.get(orderId);
  const discount = order?.discounts.find((d) => d.airlock_key === key);
  return order && discount ? { order, discount } : null;
}

function discountKey(key: string): string {
  return `discount\u0000airlock_key\u0000${key}`;
}

function commitOrder(
  state: SandboxState,
  order: Order,
  operation: string,
  changes: FieldChange[],
  by: Actor,
): void {
  order.revision += 1;
  order.updatedAt = isoNow(state);
  commitWrite(state, {
    ...by,
    operation,
    system: 'orders',
    kind: 'updated',
    record: { type: 'order', id: order.id },
    revision: order.revision,
    changes,
    snapshot: orderView(order),
  });
}
