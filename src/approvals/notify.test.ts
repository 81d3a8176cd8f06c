import { describe, expect, it } from 'vitest';
import type { ApprovalView } from './approvals.js';
import { notificationBody } from './notify.js';

const approval: ApprovalView = {
  approval: 'apr_1',
  action: 'act_1',
  status: 'pending',
  agent: 'support-bot',
  operation: 'order.cancel',
  target: { system: 'orders', type: 'order', id: '1001' },
  paramsDigest: 'a'.repeat(64),
  basisRevision: '3',
  policyVersion: 'v1',
  reason: 'order.cancel is a high-risk operation',
  expiresAt: '2026-12-05T12:00:00.000Z',
  decidedBy: null,
  decidedAt: null,
  comment: null,
  outcome: null,
  createdAt: '2026-12-04T12:00:00.000Z',
};

describe('notificationBody', () => {
  it('gives Slack a text naming the agent, operation, record, reason and a link', () => {
    const body = JSON.parse(
      notificationBody(approval, 'slack', 'https://airlock.example.com/v1/approvals/apr_1'),
    );
    expect(body).toEqual({
      text:
        'Approval needed: support-bot proposes order.cancel on orders:order:1001. ' +
        'order.cancel is a high-risk operation. Expires 2026-12-05T12:00:00.000Z. ' +
        '<https://airlock.example.com/v1/approvals/apr_1|Review apr_1>',
    });
  });

  it('shows what an agent chose as text: no link or mention of its own in Slack', () => {
    const target = {
      system: 'crm',
      type: 'contact',
      id: 'x> <https://evil.example|Review> <!channel',
    };
    const { text } = JSON.parse(notificationBody({ ...approval, target }, 'slack', null));
    expect(text).toContain('crm:contact:x&gt; &lt;https://evil.example|Review&gt; &lt;!channel.');
    expect(text).not.toMatch(/<[^>]*>/);
  });

  it('gives JSON receivers the approval itself, and the link when there is one', () => {
    expect(JSON.parse(notificationBody(approval, 'json', null))).toEqual({
      type: 'approval.requested',
      approval,
      link: null,
    });
  });
});
