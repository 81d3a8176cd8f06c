import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SANDBOX_TYPES } from '../src/sandbox/index.js';
import { freePort, startGatewayProcess, writeConfig } from './helpers/gateway-process.js';
import { call } from './helpers/sandbox.js';
import { ROOT } from './helpers/subprocess.js';

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
      const auth = { authorization: 'Bearer demo-operator-token' };
      let events: Array<{ source: string; record: unknown }> = [];
      for (let n = 0; n < 50 && events.length === 0; n++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        events = (await call(gateway.url, 'GET', '/v1/events?source=helpdesk', undefined, auth))
          .body.events;
      }
      expect(events[0]).toMatchObject({
        source: 'helpdesk',
        record: { system: 'helpdesk', type: 'ticket', id: '1003' },
      });
    } finally {
      await gateway.stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
