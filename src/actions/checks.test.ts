import { afterEach, describe, expect, it } from 'vitest';
import { call, startSandbox } from '../../test/helpers/sandbox.js';
import type { Connector } from '../connectors/connector.js';
import { createSandboxConnector } from '../connectors/index.js';
import { compilePolicies } from '../policy/index.js';
import type { Store } from '../store/index.js';
import type { ActionRow } from './action-view.js';
import { checkActionAgain } from './checks.js';

/** A create reads nothing: neither the store nor the connector is asked. */
const unused = new Proxy(
  {},
  {
    get: () => {
      throw new Error('not expected to be used');
    },
  },
);

function contactCreate(verdict: { kind: string; rule: string | null; reason: string }): ActionRow {
  return {
    id: 'act_1',
    agent: 'bot',
    idempotency_key: 'k-1',
    operation: 'contact.create',
    record_key: 'crm:contact:new',
    target: JSON.stringify({ system: 'crm', type: 'contact', id: 'new' }),
    params: JSON.stringify({ email: 'ada@example.com' }),
    basis: null,
    decision: null,
    status: 'queued',
    verdict: JSON.stringify(verdict),
    expected_revision: null,
    effect: null,
    error: null,
    attempts: 0,
    next_attempt_at: 0,
    lease_owner: null,
    lease_until: null,
    created_at: 0,
    updated_at: 0,
    sent_at: null,
  };
}

describe('checkActionAgain', () => {
  const deps = {
    store: unused as Store,
    limits: { discountApprovalAbove: 50 },
    now: () => 1_000,
    // A rule that arrived after the action was accepted without a human.
    policies: compilePolicies([
      {
        name: 'new-contacts-need-a-human',
        when: "proposal.operation == 'contact.create'",
        requireApproval: 'true',
        reason: 'new contacts are checked by a person',
      },
    ]),
  };

  it('refuses an action accepted without a human that policy now sends to one', async () => {
    const row = contactCreate({ kind: 'allow', rule: null, reason: 'no policy rule objected' });
    await expect(checkActionAgain(deps, row, unused as Connector)).rejects.toMatchObject({
      code: 'approval-required',
      details: { rule: 'new-contacts-need-a-human' },
    });
  });

  it('lets an action that waited for its approval go on', async () => {
    const row = contactCreate({
      kind: 'needs_approval',
      rule: 'new-contacts-need-a-human',
      reason: 'new contacts are checked by a person',
    });
    await expect(checkActionAgain(deps, row, unused as Connector)).resolves.toBeNull();
  });

  describe('a discount accepted without a human or a basis', () => {
    let close: (() => Promise<void>) | undefined;
    afterEach(async () => close?.());

    async function discountOnTopOfAnother(verdict: { kind: string; rule: null; reason: string }) {
      const sandbox = await startSandbox();
      close = () => sandbox.close();
      const order = sandbox.seed({ orders: [{ currency: 'EUR', subtotal: 200 }] }).orders[0] as {
        id: string;
        revision: number;
      };
      // Meanwhile, another discount of 40 lands on the order.
      await call(sandbox.url, 'POST', `/orders/${order.id}/discounts`, {
        amount: 40,
        currency: 'EUR',
        expectedRevision: order.revision,
      });
      const row: ActionRow = {
        ...contactCreate(verdict),
        operation: 'discount.apply',
        record_key: `orders:order:${order.id}`,
        target: JSON.stringify({ system: 'orders', type: 'order', id: order.id }),
        params: JSON.stringify({ amount: 20, currency: 'EUR' }),
      };
      const connector = createSandboxConnector({ system: 'orders', url: sandbox.url });
      return () => checkActionAgain({ ...deps, policies: compilePolicies([]) }, row, connector);
    }

    it('is refused once the order’s discounts would pass the threshold with it', async () => {
      const check = await discountOnTopOfAnother({
        kind: 'allow',
        rule: null,
        reason: 'no policy rule objected',
      });
      await expect(check()).rejects.toMatchObject({
        code: 'approval-required',
        details: { risk: 'high' },
      });
    });

    it('goes on when it waited for its approval', async () => {
      const check = await discountOnTopOfAnother({
        kind: 'needs_approval',
        rule: null,
        reason: 'discount.apply is a high-risk operation',
      });
      await expect(check()).resolves.toMatchObject({ data: { discounts: [{ amount: 40 }] } });
    });
  });
});
