import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Delivery } from '../src/dispatch/wire.js';
import { sha256 } from './helpers/gateway.js';
import { freePort, startGatewayProcess, writeConfig } from './helpers/gateway-process.js';
import { call, startReceiver } from './helpers/sandbox.js';
import { BACKENDS, createTestDatabase } from './helpers/stores.js';
import { DEMO_SECRET, signStandardWebhook } from './helpers/webhooks.js';

const PUSH_SECRET = 'whsec_Y3Jhc2gtZGVsaXZlcnktc2VjcmV0LWZvci10ZXN0cw==';

/**
 * The gateway kills itself with SIGKILL at one step of pushing a delivery
 * (`AIRLOCK_TEST_KILL_AT`, see src/crash-point.ts) and is started again. Delivery is at least
 * once and in order per record: the first event reaches the agent (again, with the same
 * webhook-id, when the crash came after it was received), and the record's second event only
 * after it.
 */
describe.each(BACKENDS)('kill -9 while pushing to an agent on %s', (backend) => {
  const steps = [
    { step: 'after the lease, before the push', killAt: 'delivery:after-lease', pushedBefore: 0 },
    { step: 'after the push, before the ack', killAt: 'delivery:after-push', pushedBefore: 1 },
  ];

  it.each(steps)('$step: delivered at least once, in order', async ({ killAt, pushedBefore }) => {
    const receiver = await startReceiver();
    const database = createTestDatabase(backend);
    const dir = mkdtempSync(join(tmpdir(), 'airlock-crash-delivery-'));
    const configFile = writeConfig(dir, {
      store: { url: database.url },
      log: { level: 'warn' },
      sources: { demo: { scheme: 'standard-webhooks', secrets: [DEMO_SECRET] } },
      agents: {
        bot: {
          keySha256: sha256('ak_crash_delivery'),
          operations: ['ticket.add_note'],
          deliver: {
            url: receiver.url,
            secret: PUSH_SECRET,
            events: ['*'],
            allowPrivateNetwork: true,
          },
        },
      },
      // A dead instance's push lease (the push timeout and 2 s) runs out quickly in the test.
      delivery: { poll: 20, timeout: '500ms' },
    });
    const port = await freePort();
    let gateway = await startGatewayProcess(configFile, port, { AIRLOCK_TEST_KILL_AT: killAt });
    try {
      const send = async (url: string, n: number) => {
        const body = JSON.stringify({
          type: 'ticket.updated',
          timestamp: new Date().toISOString(),
          data: { type: 'ticket', id: 'T-1', n },
        });
        const headers = signStandardWebhook(body, `msg_${randomUUID()}`);
        const sent = await call(url, 'POST', '/hooks/demo', body, headers);
        expect(sent.status).toBe(202);
        return sent.body.event as string;
      };
      const first = await send(gateway.url, 1);
      await gateway.exited;
      expect(gateway.child.signalCode).toBe('SIGKILL');
      expect(receiver.received).toHaveLength(pushedBefore);

      gateway = await startGatewayProcess(configFile, port);
      const second = await send(gateway.url, 2);
      const events = [first, second];
      const got = await receiver.waitFor(pushedBefore + 2, 15_000);
      const deliveries = got.map((r) => JSON.parse(r.body.toString('utf8')) as Delivery);
      const order = deliveries.flatMap((d) => d.events.map((e) => e.id));
      // The first event, as often as it was pushed, then the second: never the other way round.
      expect(order.slice(0, pushedBefore + 1).every((id) => id === events[0])).toBe(true);
      expect(order.at(-1)).toBe(events[1]);
      if (pushedBefore === 1) {
        // The repeat is the same message: the agent can drop it by its webhook-id.
        expect(got[1]?.headers['webhook-id']).toBe(got[0]?.headers['webhook-id']);
      }
    } finally {
      await gateway.stop('SIGTERM');
      await receiver.close();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
