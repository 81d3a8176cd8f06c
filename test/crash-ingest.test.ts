import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, startGatewayProcess, writeConfig } from './helpers/gateway-process.js';
import { BACKENDS, createTestDatabase } from './helpers/stores.js';
import { DEMO_SECRET, signStandardWebhook, ticketEventBody } from './helpers/webhooks.js';

const SENDERS = 16;

describe.each(BACKENDS)('kill -9 under load on %s', (backend) => {
  it('keeps every acknowledged event and recognises its redelivery as a duplicate', async () => {
    const database = createTestDatabase(backend);
    const dir = mkdtempSync(join(tmpdir(), 'airlock-crash-'));
    const configFile = writeConfig(dir, {
      store: { url: database.url },
      log: { level: 'warn' },
      sources: { demo: { scheme: 'standard-webhooks', secrets: [DEMO_SECRET] } },
    });
    const port = await freePort();
    let gateway = await startGatewayProcess(configFile, port);
    try {
      // Each sender posts distinct events until the gateway dies under it.
      const acknowledged = new Map<string, { body: string; event: string }>();
      let sent = 0;
      const senders = Array.from({ length: SENDERS }, async (_, sender) => {
        for (let n = 0; ; n++) {
          const id = `msg_${sender}_${n}`;
          const body = ticketEventBody(`T-${sender}-${n}`);
          sent++;
          try {
            const response = await fetch(`${gateway.url}/hooks/demo`, {
              method: 'POST',
              headers: signStandardWebhook(body, id),
              body,
            });
            if (response.status !== 202) throw new Error(`unexpected ${response.status}`);
            const answer = (await response.json()) as { event: string };
            acknowledged.set(id, { body, event: answer.event });
          } catch {
            return; // the connection died with the process: this one was never acknowledged
          }
        }
      });
      while (acknowledged.size < 300) await new Promise((resolve) => setTimeout(resolve, 20));
      await gateway.stop('SIGKILL');
      await Promise.all(senders);
      expect(sent).toBeGreaterThan(acknowledged.size);

      gateway = await startGatewayProcess(configFile, port);
      const redeliveries = await Promise.all(
        [...acknowledged].map(async ([id, { body, event }]) => {
          const response = await fetch(`${gateway.url}/hooks/demo`, {
            method: 'POST',
            headers: signStandardWebhook(body, id),
            body,
          });
          return {
            id,
            event,
            status: response.status,
            answer: (await response.json()) as { event: string; duplicate: boolean },
          };
        }),
      );
      const lost = redeliveries.filter(
        (r) => r.status !== 200 || r.answer.event !== r.event || !r.answer.duplicate,
      );
      expect(lost, `acknowledged but lost: ${lost.map((r) => r.id).join(', ')}`).toEqual([]);
    } finally {
      await gateway.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      await database.drop();
    }
  });
});
