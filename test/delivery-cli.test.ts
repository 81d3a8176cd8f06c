import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../src/store/index.js';
import { createTestApp, sha256, type TestApp, testConfig } from './helpers/gateway.js';
import { writeConfig } from './helpers/gateway-process.js';
import { runCli } from './helpers/subprocess.js';
import { signStandardWebhook } from './helpers/webhooks.js';

const KEY = 'ak_delivery_cli_agent';
const dir = mkdtempSync(join(tmpdir(), 'airlock-delivery-cli-'));

describe('airlock events redeliver and agents enable', () => {
  const url = `sqlite:${join(dir, 'airlock.db')}`;
  const agents = {
    bot: {
      keySha256: sha256(KEY),
      operations: ['ticket.add_note'],
      deliver: { events: ['*'], maxAttempts: 1 },
    },
  };
  let store: Store;
  let gateway: TestApp;
  let configFile: string;

  beforeAll(async () => {
    configFile = writeConfig(dir, { store: { url }, agents });
    store = await openStore(url);
    gateway = await createTestApp(store, testConfig(url, { agents }));
  });

  afterAll(async () => {
    await gateway?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async (event: string) =>
    (
      await store.db
        .selectFrom('deliveries')
        .select('status')
        .where('event_id', '=', event)
        .executeTakeFirstOrThrow()
    ).status;

  it('puts a dead-lettered event back in line; says why when it cannot', async () => {
    const body = JSON.stringify({ type: 'ticket.updated', data: { type: 'ticket', id: 'T-1' } });
    const sent = await gateway.app.inject({
      method: 'POST',
      url: '/hooks/demo',
      headers: signStandardWebhook(body, `msg_${randomUUID()}`),
      payload: body,
    });
    const event = sent.json().event as string;
    await gateway.dispatcher.catchUp();
    const [delivery] = await gateway.dispatcher.lease('bot', 1, 30_000);
    await gateway.dispatcher.nack('bot', delivery?.id as string, null, 'agent crashed');
    expect(await status(event)).toBe('dead');

    const redelivered = await runCli(['events', 'redeliver', event, '--config', configFile]);
    expect(redelivered.stderr).toBe('');
    expect(redelivered.code).toBe(0);
    expect(redelivered.stdout).toBe(`${event} requeued for bot\n`);
    expect(await status(event)).toBe('pending');

    // Now it is waiting to be delivered: nothing to put back.
    const again = await runCli(['events', 'redeliver', event, '--config', configFile]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`airlock: delivery-open: ${event} is still to be delivered\n`);
    const unknown = await runCli(['events', 'redeliver', 'evt_0', '--config', configFile]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/nothing-to-redeliver: evt_0 has no dead-lettered/);
  });

  it('enables an agent endpoint (a no-op when it was not disabled), and only a push agent’s', async () => {
    const pushConfig = writeConfig(mkdtempSync(join(dir, 'push-')), {
      store: { url },
      agents: {
        ...agents,
        pushed: {
          keySha256: sha256(`${KEY}-pushed`),
          operations: ['ticket.add_note'],
          deliver: {
            url: 'http://127.0.0.1:9/events',
            secret: 'whsec_ZGVsaXZlcnktY2xpLXRlc3Qtc2VjcmV0',
            allowPrivateNetwork: true,
          },
        },
      },
    });
    const enabled = await runCli(['agents', 'enable', 'pushed', '--config', pushConfig]);
    expect(enabled.code).toBe(0);
    expect(enabled.stdout).toBe("pushed's endpoint was not disabled\n");
    for (const name of ['bot', 'nobody']) {
      const refused = await runCli(['agents', 'enable', name, '--config', pushConfig]);
      expect(refused.code, name).toBe(1);
      expect(refused.stderr).toBe(
        `airlock: agent-not-found: no agent ${name} with a push endpoint (agents.${name}.deliver.url) in the config\n`,
      );
    }
  });
});
