import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import type { Store } from '../src/store/index.js';
import {
  ADMIN_TOKEN,
  APPROVER_TOKEN,
  createTestApp,
  sha256,
  type TestApp,
  testConfig,
  VIEWER_TOKEN,
} from './helpers/gateway.js';
import { postAction } from './helpers/propose.js';
import { call, startSandbox } from './helpers/sandbox.js';
import { BACKENDS, useTestStores } from './helpers/stores.js';

const AGENT_KEY = 'ak_approvals_test_agent';
const NOTIFY_SECRET = `whsec_${Buffer.from('approvals-notify-secret').toString('base64')}`;
const DAY_MS = 24 * 3600_000;

describe.each(BACKENDS)('approvals on %s', (backend) => {
  const stores = useTestStores(backend);
  let store: Store;
  let gateway: TestApp;
  let sandbox: Sandbox & { url: string };
  const clock = { now: Date.now() };

  async function start(values: Record<string, unknown> = {}) {
    sandbox = stores.closedAfter(await startSandbox());
    store = await stores.open();
    clock.now = Date.now();
    const connector = { kind: 'sandbox', url: sandbox.url, timeout: '2s' };
    gateway = stores.closedAfter(
      await createTestApp(
        store,
        testConfig(stores.database.url, {
          agents: { bot: { keySha256: sha256(AGENT_KEY), operations: [...OPERATION_NAMES] } },
          connectors: { orders: connector },
          actions: { wait: '2s' },
          ...values,
        }),
        // The gateway's clock: moved forward by hand to let approvals run out.
        { now: () => clock.now },
      ),
    );
    const [order] = sandbox.seed({ orders: [{ currency: 'EUR', subtotal: 120 }] }).orders as Array<{
      id: string;
      revision: number;
    }>;
    return order as { id: string; revision: number };
  }

  const inject = (method: 'GET' | 'POST', url: string, token: string, payload?: unknown) =>
    gateway.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });

  const propose = (key: string, payload: Record<string, unknown>) =>
    postAction(gateway.app, AGENT_KEY, key, payload);

  /** Proposes to cancel the order (high risk: it waits for a human); the approval id. */
  async function proposeCancel(order: { id: string; revision: number }, key = 'k-cancel') {
    const proposed = await propose(key, {
      operation: 'order.cancel',
      target: { system: 'orders', type: 'order', id: order.id },
      params: { reason: 'customer asked' },
      basis: { revision: String(order.revision) },
    });
    expect(proposed.statusCode).toBe(202);
    expect(proposed.json()).toMatchObject({ status: 'pending_approval' });
    return { approval: proposed.json().approval as string, action: proposed.json().action };
  }

  /** `proposeCancel`'s request again, with its key: what the key answers now. */
  const proposeAgain = (order: { id: string; revision: number }, key = 'k-cancel') =>
    propose(key, {
      operation: 'order.cancel',
      target: { system: 'orders', type: 'order', id: order.id },
      params: { reason: 'customer asked' },
      basis: { revision: String(order.revision) },
    });

  const writes = async () => (await call(sandbox.url, 'GET', '/_writes')).body.writes as unknown[];
  const actionStatus = async (id: string) =>
    (await store.db.selectFrom('actions').select('status').where('id', '=', id).executeTakeFirst())
      ?.status;

  it('holds a discount for a human once the order’s discounts would pass the threshold in all', async () => {
    const order = await start();
    const fresh = sandbox.seed({ orders: [{ currency: 'EUR', subtotal: 500 }] }).orders[0] as {
      id: string;
    };
    /** Proposes a discount on the order's revision as it is now. */
    const discount = async (id: string, amount: number, dryRun = false) => {
      const revision = (await call(sandbox.url, 'GET', `/orders/${id}`)).body.order.revision;
      const answer = await propose(`k-discount-${id}-${amount}`, {
        operation: 'discount.apply',
        target: { system: 'orders', type: 'order', id },
        params: { amount, currency: 'EUR' },
        basis: { revision: String(revision) },
        dryRun,
      });
      return { status: answer.statusCode, body: answer.json() };
    };
    // 30, then 15: 45 in all, within the default threshold of 50, each at once.
    expect(await discount(order.id, 30)).toMatchObject({
      status: 200,
      body: { status: 'executed', verdict: { kind: 'allow', risk: 'medium' } },
    });
    expect(await discount(order.id, 15)).toMatchObject({
      status: 200,
      body: { status: 'executed' },
    });
    // 10 more is 55: split under the threshold or not, it waits for a human.
    expect(await discount(order.id, 10)).toMatchObject({
      status: 202,
      body: {
        status: 'pending_approval',
        verdict: {
          kind: 'needs_approval',
          risk: 'high',
          reason: 'discount.apply is a high-risk operation',
        },
      },
    });
    expect(await writes()).toHaveLength(2);
    // A dry run says the same; so does one discount above the threshold on its own.
    const alone = await discount(fresh.id, 51, true);
    expect(alone.body).toMatchObject({ dryRun: true, outcome: 'pending_approval', risk: 'high' });
  });

  it('holds a high-risk action until an approver approves it, then executes it once', async () => {
    const order = await start();
    const { approval, action } = await proposeCancel(order);

    const listed = await inject('GET', '/v1/approvals?status=pending', VIEWER_TOKEN);
    expect(listed.statusCode).toBe(200);
    expect(listed.json().approvals).toEqual([
      expect.objectContaining({
        approval,
        action,
        status: 'pending',
        operation: 'order.cancel',
        target: { system: 'orders', type: 'order', id: order.id },
        basisRevision: String(order.revision),
        paramsDigest: expect.stringMatching(/^[0-9a-f]{64}$/),
        policyVersion: expect.any(String),
        expiresAt: new Date(clock.now + DAY_MS).toISOString(),
      }),
    ]);
    expect(await writes()).toHaveLength(0);
    // Asked again while it waits, the key answers that it waits.
    const waiting = await proposeAgain(order);
    expect(waiting.statusCode).toBe(202);
    expect(waiting.headers['idempotent-replayed']).toBe('true');
    expect(waiting.json()).toMatchObject({ action, status: 'pending_approval', approval });

    // A viewer may look, not decide; an agent key is no operator token.
    expect(
      (await inject('POST', `/v1/approvals/${approval}/approve`, VIEWER_TOKEN)).statusCode,
    ).toBe(403);
    expect((await inject('POST', `/v1/approvals/${approval}/approve`, AGENT_KEY)).statusCode).toBe(
      401,
    );

    const approved = await inject('POST', `/v1/approvals/${approval}/approve`, APPROVER_TOKEN, {
      comment: 'customer confirmed by phone',
    });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({
      status: 'approved',
      decidedBy: 'ana',
      comment: 'customer confirmed by phone',
      decidedAt: expect.any(String),
    });
    await waitFor(async () => (await actionStatus(action)) === 'executed');
    expect(await writes()).toHaveLength(1);
    const seen = await inject('GET', `/v1/actions/${action}`, AGENT_KEY);
    expect(seen.json()).toMatchObject({ status: 'executed', approval });
    // The key answers with the outcome now, not with the wait it answered first.
    const repeated = await proposeAgain(order);
    expect(repeated.statusCode).toBe(200);
    expect(repeated.headers['idempotent-replayed']).toBe('true');
    expect(repeated.json()).toMatchObject({ action, status: 'executed' });
    expect(await writes()).toHaveLength(1);
    // Decided once: a second decision is refused.
    const again = await inject('POST', `/v1/approvals/${approval}/reject`, ADMIN_TOKEN);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      type: 'urn:airlock:problem:approval-decided',
      approvalStatus: 'approved',
    });
  });

  it('answers bad input with a problem, and an unknown approval with 404', async () => {
    const order = await start();
    const { approval } = await proposeCancel(order);
    const badStatus = await inject('GET', '/v1/approvals?status=maybe', VIEWER_TOKEN);
    expect(badStatus.statusCode).toBe(400);
    expect(badStatus.json().type).toBe('urn:airlock:problem:invalid-query');
    const badCursor = await inject('GET', '/v1/approvals?cursor=junk', VIEWER_TOKEN);
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json().type).toBe('urn:airlock:problem:invalid-query');
    const badComment = await inject('POST', `/v1/approvals/${approval}/approve`, APPROVER_TOKEN, {
      comment: 42,
    });
    expect(badComment.statusCode).toBe(400);
    expect(badComment.json().type).toBe('urn:airlock:problem:invalid-request');
    const unknown = await inject('POST', '/v1/approvals/apr_missing/reject', APPROVER_TOKEN);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().type).toBe('urn:airlock:problem:approval-not-found');
    // Nothing was decided by the bad requests.
    const view = await inject('GET', `/v1/approvals/${approval}`, VIEWER_TOKEN);
    expect(view.json().status).toBe('pending');
  });

  it('ends a rejected approval with its action never executed', async () => {
    const order = await start();
    const { approval, action } = await proposeCancel(order);
    const rejected = await inject('POST', `/v1/approvals/${approval}/reject`, APPROVER_TOKEN, {
      comment: 'the customer only asked about it',
    });
    expect(rejected.json()).toMatchObject({ status: 'rejected', decidedBy: 'ana' });
    expect(await actionStatus(action)).toBe('rejected');
    const seen = await inject('GET', `/v1/actions/${action}`, AGENT_KEY);
    expect(seen.json().error).toMatchObject({ code: 'approval-rejected' });
    const repeated = await proposeAgain(order);
    expect(repeated.headers['idempotent-replayed']).toBe('true');
    expect(repeated.json()).toMatchObject({ action, status: 'rejected' });
    expect(await writes()).toHaveLength(0);
  });

  it('binds the approval to what was proposed: other params cannot ride on it', async () => {
    const order = await start();
    const { approval, action } = await proposeCancel(order);
    await store.db
      .updateTable('actions')
      .set({ params: JSON.stringify({ reason: 'something else entirely' }) })
      .where('id', '=', action)
      .execute();
    const approved = await inject('POST', `/v1/approvals/${approval}/approve`, APPROVER_TOKEN);
    expect(approved.statusCode).toBe(409);
    expect(approved.json().type).toBe('urn:airlock:problem:approval-mismatch');

    // Nor can an action be queued past its approval: the worker checks before executing.
    await store.db
      .updateTable('actions')
      .set({ status: 'queued' })
      .where('id', '=', action)
      .execute();
    gateway.worker.notify();
    await waitFor(async () => (await actionStatus(action)) === 'denied');
    const seen = await inject('GET', `/v1/actions/${action}`, AGENT_KEY);
    expect(seen.json().error).toMatchObject({ code: 'approval-not-held' });
    expect(await writes()).toHaveLength(0);
  });

  it('ends the approval as stale, executing nothing, when the record moved on before approving', async () => {
    const order = await start();
    const { approval, action } = await proposeCancel(order);
    // Someone adds a discount in the order system meanwhile.
    const changed = await call(sandbox.url, 'POST', `/orders/${order.id}/discounts`, {
      amount: 10,
      currency: 'EUR',
    });
    expect(changed.status).toBe(201);
    const approved = await inject('POST', `/v1/approvals/${approval}/approve`, APPROVER_TOKEN);
    expect(approved.statusCode).toBe(409);
    expect(approved.json()).toMatchObject({
      type: 'urn:airlock:problem:approval-stale',
      because: 'stale-basis',
      currentRevision: String(changed.body.order.revision),
    });
    const view = await inject('GET', `/v1/approvals/${approval}`, VIEWER_TOKEN);
    expect(view.json()).toMatchObject({
      status: 'stale',
      decidedBy: 'ana',
      outcome: { code: 'stale-basis' },
    });
    // What changed since the approval was asked for: the discount, with its value then and now.
    const discounts = (
      view.json().outcome.changed as { field: string; was: unknown; now: unknown }[]
    ).find((change) => change.field === 'discounts');
    expect(discounts?.was).toEqual([]);
    expect(discounts?.now).toMatchObject([{ amount: 10, currency: 'EUR' }]);
    expect(await actionStatus(action)).toBe('stale');
    const cancels = (await writes()).filter(
      (write) => (write as { operation: string }).operation === 'order.cancel',
    );
    expect(cancels).toEqual([]);
  });

  it('lets exactly one of a concurrent approve and reject decide', async () => {
    await start();
    const decided = [];
    // An order each: an approved cancel would make the next approval of the same order stale.
    const orders = sandbox.seed({
      orders: Array.from({ length: 4 }, () => ({ currency: 'EUR', subtotal: 50 })),
    }).orders as Array<{ id: string; revision: number }>;
    for (const [n, order] of orders.entries()) {
      const { approval } = await proposeCancel(order, `k-race-${n}`);
      const [approve, reject] = await Promise.all([
        inject('POST', `/v1/approvals/${approval}/approve`, APPROVER_TOKEN),
        inject('POST', `/v1/approvals/${approval}/reject`, ADMIN_TOKEN),
      ]);
      const codes = [approve.statusCode, reject.statusCode].sort();
      expect(codes).toEqual([200, 409]);
      const winner = approve.statusCode === 200 ? 'approved' : 'rejected';
      const view = await inject('GET', `/v1/approvals/${approval}`, VIEWER_TOKEN);
      expect(view.json().status).toBe(winner);
      decided.push(winner);
    }
    expect(decided).toHaveLength(4);
  });

  it('expires an approval no one decided, on its own, and refuses deciding it after', async () => {
    const order = await start({ approvals: { ttl: '1h' } });
    const { approval, action } = await proposeCancel(order);
    clock.now += 3600_000 + 1;
    // The sweeper runs every second.
    await waitFor(async () => (await actionStatus(action)) === 'expired', 5_000);
    const view = await inject('GET', `/v1/approvals/${approval}`, VIEWER_TOKEN);
    expect(view.json()).toMatchObject({ status: 'expired', decidedBy: null });
    const late = await inject('POST', `/v1/approvals/${approval}/approve`, APPROVER_TOKEN);
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ approvalStatus: 'expired' });
    expect(await writes()).toHaveLength(0);
  });

  it('tells the agent, at its deliver URL, how each of its actions waiting for a human ended', async () => {
    const receiver = await startReceiver();
    try {
      const order = await start({
        agents: {
          bot: {
            keySha256: sha256(AGENT_KEY),
            operations: [...OPERATION_NAMES],
            deliver: { url: receiver.url, secret: NOTIFY_SECRET, allowPrivateNetwork: true },
          },
        },
      });
      const [other] = sandbox.seed({ orders: [{ currency: 'EUR', subtotal: 30 }] })
        .orders as Array<{
        id: string;
        revision: number;
      }>;
      const approved = await proposeCancel(order, 'k-outcome-1');
      const rejected = await proposeCancel(
        other as { id: string; revision: number },
        'k-outcome-2',
      );
      await inject('POST', `/v1/approvals/${approved.approval}/approve`, APPROVER_TOKEN);
      await inject('POST', `/v1/approvals/${rejected.approval}/reject`, APPROVER_TOKEN);
      await waitFor(async () => receiver.received.length === 2);
      const outcomes = receiver.received.map((message) =>
        new Webhook(NOTIFY_SECRET).verify(message.body, message.headers as Record<string, string>),
      ) as Array<{ type: string; action: { action: string; status: string } }>;
      expect(outcomes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            type: 'action.outcome',
            action: expect.objectContaining({ action: approved.action, status: 'executed' }),
          }),
          expect.objectContaining({
            type: 'action.outcome',
            action: expect.objectContaining({ action: rejected.action, status: 'rejected' }),
          }),
        ]),
      );
    } finally {
      await receiver.close();
    }
  });

  it('announces a new approval, signed as Standard Webhooks, with a link to it', async () => {
    const receiver = await startReceiver();
    try {
      const order = await start({
        approvals: {
          notify: { url: receiver.url, secret: NOTIFY_SECRET },
          publicUrl: 'https://airlock.example.com',
        },
      });
      const { approval } = await proposeCancel(order);
      await waitFor(async () => receiver.received.length === 1);
      const [message] = receiver.received;
      const verified = new Webhook(NOTIFY_SECRET).verify(
        message?.body as string,
        message?.headers as Record<string, string>,
      ) as { type: string; approval: { approval: string }; link: string };
      expect(verified).toMatchObject({
        type: 'approval.requested',
        approval: { approval, status: 'pending', operation: 'order.cancel' },
        link: `https://airlock.example.com/ui/approvals/${approval}`,
      });
      expect(message?.headers['webhook-id']).toBe(approval);
    } finally {
      await receiver.close();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** An HTTP server on loopback that keeps what it was sent. */
async function startReceiver() {
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/airlock`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
