import { describe, expect, it } from 'vitest';
import type { Connector } from '../connectors/connector.js';
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
});
