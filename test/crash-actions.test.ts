import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import { sha256 } from './helpers/gateway.js';
import { freePort, startGatewayProcess, writeConfig } from './helpers/gateway-process.js';
import { call, startSandbox } from './helpers/sandbox.js';
import { BACKENDS, createTestDatabase } from './helpers/stores.js';

const AGENT_KEY = 'ak_crash_test_agent';

/**
 * The gateway kills itself with SIGKILL at one step of executing a `ticket.reply` (a comment:
 * the operation a blind retry would duplicate; `AIRLOCK_TEST_KILL_AT`, see src/crash-point.ts)
 * and is started again. Exactly one reply must land.
 */
describe.each(BACKENDS)('kill -9 while executing an action on %s', (backend) => {
  const steps = [
    {
      step: 'after the outbox commit, before the connector call',
      killAt: 'action:before-connector-call',
      landed: false,
    },
    {
      step: 'after the connector call, before the result commit',
      killAt: 'action:after-connector-call',
      landed: true,
    },
  ];

  it.each(steps)('$step: exactly one effect after restart', async ({ killAt, landed }) => {
    const sandbox = await startSandbox();
    const database = createTestDatabase(backend);
    const dir = mkdtempSync(join(tmpdir(), 'airlock-crash-actions-'));
    // No write is held in the sandbox here: one that was not found 2 s after it was sent never
    // will be (the default of 60 s would only slow the test).
    const connector = { kind: 'sandbox', url: sandbox.url, timeout: '2s', lateWriteWindow: '2s' };
    const configFile = writeConfig(dir, {
      store: { url: database.url },
      log: { level: 'warn' },
      agents: { bot: { keySha256: sha256(AGENT_KEY), operations: [...OPERATION_NAMES] } },
      connectors: { helpdesk: connector },
      // A dead worker's claim runs out quickly, so the restarted one takes over in the test.
      actions: { lease: '1s', wait: '2s' },
    });
    const port = await freePort();
    let gateway = await startGatewayProcess(configFile, port, { AIRLOCK_TEST_KILL_AT: killAt });
    try {
      const [ticket] = sandbox.seed({ tickets: [{ subject: 'Where is my order?' }] })
        .tickets as Array<{
        id: string;
        revision: number;
      }>;
      const ticketId = (ticket as { id: string }).id;
      const body = {
        operation: 'ticket.reply',
        target: { system: 'helpdesk', type: 'ticket', id: ticketId },
        params: { body: 'It ships today.' },
        basis: { revision: String((ticket as { revision: number }).revision) },
      };
      const headers = { authorization: `Bearer ${AGENT_KEY}`, 'idempotency-key': 'reply-1' };
      // The first answer never comes: the process dies while it is waiting.
      void call(gateway.url, 'POST', '/v1/actions', body, headers).catch(() => {});

      const store = await database.open();
      try {
        await gateway.exited;
        expect(gateway.child.signalCode).toBe('SIGKILL');
        const killed = await store.db.selectFrom('actions').select('status').execute();
        // Committed before the call, and not settled: the restart must find out what happened.
        expect(killed).toEqual([{ status: 'executing' }]);
        const before = (await call(sandbox.url, 'GET', '/_writes')).body.writes as unknown[];
        expect(before).toHaveLength(landed ? 1 : 0);

        gateway = await startGatewayProcess(configFile, port);
        await waitFor(async () => {
          const row = await store.db.selectFrom('actions').select('status').executeTakeFirst();
          return row?.status === 'executed';
        });
        // The agent retries its request with the same key: it learns the outcome, nothing runs twice.
        const retried = await call(gateway.url, 'POST', '/v1/actions', body, headers);
        expect(retried.status).toBe(200);
        expect(retried.body.status).toBe('executed');
        const writes = (await call(sandbox.url, 'GET', '/_writes')).body.writes as Array<{
          record: { id: string };
        }>;
        expect(writes.filter((write) => write.record.id === ticketId)).toHaveLength(1);
        expect(await store.db.selectFrom('actions').select('id').execute()).toHaveLength(1);
      } finally {
        await store.close();
      }
    } finally {
      await gateway.stop('SIGKILL');
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
      await database.drop();
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
