import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../src/sandbox/index.js';
import { call, startSandbox } from './helpers/sandbox.js';

let sandbox: Sandbox & { url: string };
afterEach(() => sandbox?.close());

async function withOrder(status?: 'open' | 'shipped') {
  sandbox = await startSandbox();
  const seeded = sandbox.seed({
    orders: [{ currency: 'EUR', subtotal: 100, ...(status ? { status } : {}) }],
  });
  return `/orders/${seeded.orders[0]?.id}`;
}

describe('sandbox orders', () => {
  it('cancels at the expected revision, refuses a stale one, and changes nothing when repeated', async () => {
    const path = await withOrder();
    const stale = await call(sandbox.url, 'POST', `${path}/cancel`, {
      reason: 'asked',
      expectedRevision: 0,
    });
    expect(stale.status).toBe(409);
    expect(stale.body.type).toBe('urn:airlock:problem:stale-revision');

    const cancelled = await call(sandbox.url, 'POST', `${path}/cancel`, {
      reason: 'asked',
      expectedRevision: 1,
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.order).toMatchObject({
      status: 'cancelled',
      cancelReason: 'asked',
      revision: 2,
    });
    expect(cancelled.body.changes).toContainEqual({
      field: 'status',
      previous: 'open',
      value: 'cancelled',
    });

    const again = await call(sandbox.url, 'POST', `${path}/cancel`, { reason: 'asked' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ order: { revision: 2 }, changes: [] });
    expect(sandbox.state.writes.map((w) => w.operation)).toEqual(['order.cancel']);
  });

  it('refuses to cancel a shipped order', async () => {
    const path = await withOrder('shipped');
    const answer = await call(sandbox.url, 'POST', `${path}/cancel`, { reason: 'late' });
    expect(answer.status).toBe(422);
    expect(answer.body.type).toBe('urn:airlock:problem:order-shipped');
  });

  it('applies a discount once per airlock_key, checked against the expected revision', async () => {
    const path = await withOrder();
    const discount = {
      amount: 10,
      currency: 'EUR',
      code: 'SORRY',
      airlock_key: 'agent:k1',
      expectedRevision: 1,
    };
    const first = await call(sandbox.url, 'POST', `${path}/discounts`, discount);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ new: true, order: { total: 90, revision: 2 } });

    // The retry carries the old expected revision: the key answers it before any check.
    const retry = await call(sandbox.url, 'POST', `${path}/discounts`, discount);
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({
      new: false,
      discount: { id: first.body.discount.id },
      order: { total: 90 },
    });

    const stale = await call(sandbox.url, 'POST', `${path}/discounts`, {
      ...discount,
      airlock_key: 'agent:k2',
    });
    expect(stale.status).toBe(409);
    expect(stale.body.type).toBe('urn:airlock:problem:stale-revision');
    expect(sandbox.state.writes.map((w) => w.operation)).toEqual(['order.discount']);
  });

  it('refuses a discount in another currency or above the total', async () => {
    const path = await withOrder();
    const usd = await call(sandbox.url, 'POST', `${path}/discounts`, {
      amount: 5,
      currency: 'USD',
    });
    expect([usd.status, usd.body.type]).toEqual([422, 'urn:airlock:problem:currency-mismatch']);
    const big = await call(sandbox.url, 'POST', `${path}/discounts`, {
      amount: 100.01,
      currency: 'EUR',
    });
    expect([big.status, big.body.type]).toEqual([
      422,
      'urn:airlock:problem:discount-exceeds-total',
    ]);
    const bad = await call(sandbox.url, 'POST', `${path}/discounts`, {
      amount: -1,
      currency: 'EUR',
    });
    expect(bad.status).toBe(400);
    expect(sandbox.state.writes).toHaveLength(0);
  });
});
