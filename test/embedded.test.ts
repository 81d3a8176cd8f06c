import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SANDBOX_TYPES } from '../src/sandbox/index.js';
import { freePort, startGatewayProcess, writeConfig } from './helpers/gateway-process.js';
import { call } from './helpers/sandbox.js';
import { ROOT } from './helpers/subprocess.js';

/** The gateway's events from `source`, once there are some (5 s at most). */
async function eventsFrom(gatewayUrl: string, source: string) {
  const auth = { authorization: 'Bearer demo-operator-token' };
  let events: Array<{ source: string; record: unknown }> = [];
  for (let n = 0; n < 50 && events.length === 0; n++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    events = (await call(gatewayUrl, 'GET', `/v1/events?source=${source}`, undefined, auth)).body
      .events;
  }
  return events;
}

describe('the embedded setting of airlock.yaml (npm start)', () => {
  it('executes a proposal on the built-in sandbox and receives its echo as a signed webhook', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-embedded-'));
    const [port, sandboxPort] = [await freePort(), await freePort()];
    const sample = parse(readFileSync(join(ROOT, 'airlock.yaml'), 'utf8'));
    const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
    const configFile = writeConfig(dir, {
      ...sample,
      store: { url: `sqlite:${join(dir, 'airlock.db')}` },
      log: { level: 'warn' },
      sandbox: { ...sample.sandbox, port: sandboxPort },
      connectors: {
        helpdesk: { kind: 'sandbox', url: sandboxUrl, types: SANDBOX_TYPES.helpdesk },
        crm: { kind: 'sandbox', url: sandboxUrl, types: SANDBOX_TYPES.crm },
      },
    });
    const gateway = await startGatewayProcess(configFile, port);
    try {
      const ticket = (await call(sandboxUrl, 'GET', '/api/tickets/1003')).body.ticket;
      expect(ticket).toMatchObject({ subject: 'Where is my order?' });
      const proposal = await call(
        gateway.url,
        'POST',
        '/v1/actions',
        {
          operation: 'ticket.reply',
          target: { system: 'helpdesk', type: 'ticket', id: '1003' },
          params: { body: 'It ships today.' },
          basis: { revision: String(ticket.revision) },
        },
        { authorization: 'Bearer demo-agent-key', 'idempotency-key': 'embedded-1' },
      );
      expect(proposal.status).toBe(200);
      expect(proposal.body.status).toBe('executed');

      // The sandbox's Zendesk-signed webhook about the reply lands in the inbox.
      const events = await eventsFrom(gateway.url, 'helpdesk');
      expect(events[0]).toMatchObject({
        source: 'helpdesk',
        record: { system: 'helpdesk', type: 'ticket', id: '1003' },
      });
    } finally {
      await gateway.stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('signs the sandbox webhooks with the secrets the config gives, built in or as airlock sandbox --config', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-embedded-'));
    const sample = parse(readFileSync(join(ROOT, 'airlock.yaml'), 'utf8'));
    // Secrets of our own: the built-in sandbox signed with its defaults, and was refused.
    const sources = {
      ...sample.sources,
      helpdesk: { scheme: 'zendesk', secrets: ['our-own-helpdesk-secret'] },
      crm: { scheme: 'hubspot-v3', secrets: ['our-own-crm-secret'] },
    };
    const run = async (name: string, builtIn: boolean) => {
      const [port, sandboxPort] = [await freePort(), await freePort()];
      const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;
      const configFile = writeConfig(mkdtempSync(join(dir, `${name}-`)), {
        ...sample,
        server: { host: '127.0.0.1', port },
        store: { url: `sqlite:${join(dir, `${name}.db`)}` },
        log: { level: 'warn' },
        sources,
        sandbox: { ...sample.sandbox, enabled: builtIn, port: sandboxPort },
        connectors: {
          helpdesk: { kind: 'sandbox', url: sandboxUrl, types: SANDBOX_TYPES.helpdesk },
          crm: { kind: 'sandbox', url: sandboxUrl, types: SANDBOX_TYPES.crm },
        },
      });
      const gateway = await startGatewayProcess(configFile, port);
      // The sandbox on its own, where the config says, sending to that gateway.
      const sandbox = builtIn
        ? null
        : spawn(process.execPath, ['dist/cli/main.js', 'sandbox', '--config', configFile], {
            cwd: ROOT,
            stdio: 'ignore',
          });
      try {
        for (let n = 0; n < 100; n++) {
          const up = await fetch(`${sandboxUrl}/healthz`).then(
            (response) => response.ok,
            () => false,
          );
          if (up) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const created = await call(sandboxUrl, 'POST', '/api/tickets', {
          subject: 'Hello',
          comment: { body: 'Is anyone there?' },
        });
        expect(created.status, name).toBe(201);
        const events = await eventsFrom(gateway.url, 'helpdesk');
        expect(events[0], name).toMatchObject({ source: 'helpdesk' });
      } finally {
        sandbox?.kill('SIGTERM');
        await gateway.stop('SIGTERM');
      }
    };
    try {
      await run('built-in', true);
      await run('separate', false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
