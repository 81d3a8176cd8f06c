import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import { openStore, type Store } from '../src/store/index.js';
import { createTestApp, sha256, type TestApp, testConfig } from './helpers/gateway.js';
import { writeConfig } from './helpers/gateway-process.js';
import { postAction } from './helpers/propose.js';
import { call, startSandbox } from './helpers/sandbox.js';
import { runCli } from './helpers/subprocess.js';

const AGENT_KEY = 'ak_approvals_cli_test_agent';

const dir = mkdtempSync(join(tmpdir(), 'airlock-approvals-cli-'));
const airlock = (...args: string[]) => runCli(args);

type Order = { id: string; revision: number };

describe('airlock approvals', () => {
  const url = `sqlite:${join(dir, 'airlock.db')}`;
  let sandbox: Sandbox & { url: string };
  let store: Store;
  let gateway: TestApp;
  let configFile: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    const connectors = { orders: { kind: 'sandbox', url: sandbox.url, timeout: '2s' } };
    // The CLI and the in-process gateway share the SQLite file and the order system.
    configFile = writeConfig(dir, { store: { url }, connectors });
    store = await openStore(url);
    gateway = await createTestApp(
      store,
      testConfig(url, {
        agents: { bot: { keySha256: sha256(AGENT_KEY), operations: [...OPERATION_NAMES] } },
        connectors,
        actions: { wait: '2s' },
      }),
    );
  });

  afterAll(async () => {
    await gateway?.close();
    await store?.close();
    await sandbox?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Proposes to cancel the order (high risk: it waits for a human); the approval and action. */
  async function proposeCancel(order: Order, key: string) {
    const proposed = await postAction(gateway.app, AGENT_KEY, key, {
      operation: 'order.cancel',
      target: { system: 'orders', type: 'order', id: order.id },
      params: { reason: 'customer asked' },
      basis: { revision: String(order.revision) },
    });
    expect(proposed.statusCode).toBe(202);
    expect(proposed.json()).toMatchObject({ status: 'pending_approval' });
    return proposed.json() as { approval: string; action: string };
  }

  const cancels = async () =>
    (
      (await call(sandbox.url, 'GET', '/_writes')).body.writes as Array<{ operation: string }>
    ).filter((write) => write.operation === 'order.cancel');
  const actionStatus = async (id: string) =>
    (await store.db.selectFrom('actions').select('status').where('id', '=', id).executeTakeFirst())
      ?.status;

  it('lists, rejects and approves; an approved action is executed once by the gateway', async () => {
    const orders = sandbox.seed({
      orders: Array.from({ length: 3 }, () => ({ currency: 'EUR', subtotal: 80 })),
    }).orders as Order[];
    const [toReject, toApprove, toMoveOn] = await Promise.all(
      orders.map((order, n) => proposeCancel(order, `k-cli-${n}`)),
    );
    if (!toReject || !toApprove || !toMoveOn) throw new Error('three proposals expected');

    const list = await airlock('approvals', 'list', '--config', configFile);
    expect(list.stderr).toBe('');
    expect(list.code).toBe(0);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+STATUS\s+OPERATION\s+TARGET\s+AGENT\s+REASON\s+EXPIRES$/);
    expect(rows).toHaveLength(3);
    expect(rows.find((row) => row.startsWith(toReject.approval))).toMatch(
      new RegExp(`pending\\s+order\\.cancel\\s+orders:order:${orders[0]?.id}\\s+bot\\s+\\S`),
    );
    const pending = await airlock(
      'approvals',
      'list',
      '--status',
      'pending',
      '--json',
      '-c',
      configFile,
    );
    expect(
      (JSON.parse(pending.stdout) as { approvals: Array<{ approval: string }> }).approvals.map(
        (approval) => approval.approval,
      ),
    ).toEqual([toReject, toApprove, toMoveOn].map((proposal) => proposal.approval).sort());

    const rejected = await airlock(
      'approvals',
      'reject',
      toReject.approval,
      '--as',
      'ana',
      '--comment',
      'the customer only asked about it',
      '--config',
      configFile,
    );
    expect(rejected.stderr).toBe('');
    expect(rejected.code).toBe(0);
    expect(rejected.stdout).toContain(`approval ${toReject.approval} rejected by ana`);
    const shown = await airlock('approvals', 'show', toReject.approval, '--json', '-c', configFile);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      approval: toReject.approval,
      status: 'rejected',
      decidedBy: 'ana',
      comment: 'the customer only asked about it',
    });
    expect(await actionStatus(toReject.action)).toBe('rejected');

    const approved = await airlock('approvals', 'approve', toApprove.approval, '-c', configFile);
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    const by = `cli:${userInfo().username}`;
    expect(approved.stdout).toBe(
      `approval ${toApprove.approval} approved by ${by}; action ${toApprove.action} is queued for execution\n`,
    );
    // The in-process gateway's worker finds the queued action by polling the shared file.
    await waitFor(async () => (await actionStatus(toApprove.action)) === 'executed');
    expect(await cancels()).toHaveLength(1);
    const text = await airlock('approvals', 'show', toApprove.approval, '-c', configFile);
    expect(text.stdout).toMatch(/^status\s+approved$/m);
    expect(text.stdout).toMatch(new RegExp(`^decided\\s+${by} at \\S+$`, 'm'));

    const again = await airlock('approvals', 'approve', toReject.approval, '-c', configFile);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `airlock: approval-decided: approval ${toReject.approval} is rejected\n`,
    );

    // The order changes in its system after the proposal: approving it now executes nothing.
    const changed = await call(sandbox.url, 'POST', `/orders/${orders[2]?.id}/discounts`, {
      amount: 10,
      currency: 'EUR',
    });
    expect(changed.status).toBe(201);
    const stale = await airlock('approvals', 'approve', toMoveOn.approval, '-c', configFile);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(
      `airlock: approval-stale: approval ${toMoveOn.approval} is stale`,
    );
    expect(stale.stderr).toContain(`revision ${changed.body.order.revision}`);
    expect(await actionStatus(toMoveOn.action)).toBe('stale');

    // Still exactly one cancel, well after the worker's poll interval.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await cancels()).toHaveLength(1);
    expect(await actionStatus(toApprove.action)).toBe('executed');
  });

  it('exits 1 on an unknown approval and 2 on a bad --status', async () => {
    const missing = await airlock('approvals', 'show', 'apr_nope', '--config', configFile);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('airlock: approval-not-found: no approval apr_nope\n');
    const unknown = await airlock(
      'approvals',
      'reject',
      'apr_nope',
      '--as',
      'ana',
      '-c',
      configFile,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('airlock: approval-not-found');
    const badStatus = await airlock('approvals', 'list', '--status', 'open', '-c', configFile);
    expect(badStatus.code).toBe(2);
    expect(badStatus.stderr).toContain(
      'expected one of pending, approved, rejected, expired, stale',
    );
    const help = await airlock('approvals', 'approve', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("running gateway's worker");
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
