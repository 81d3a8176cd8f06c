import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSandbox, type Sandbox } from '../src/sandbox/index.js';
import { call, startSandbox } from './helpers/sandbox.js';

let sandbox: (Sandbox & { url: string }) | undefined;
let receiver: Server | undefined;
afterEach(async () => {
  await sandbox?.close();
  await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(null)));
});

describe('the sandbox in a long run', () => {
  it('keeps the latest writes and webhook deliveries, and says how many it let go', async () => {
    receiver = createServer((_request, response) => response.writeHead(200).end());
    await new Promise<void>((resolve) => receiver?.listen(0, '127.0.0.1', resolve));
    const port = (receiver.address() as AddressInfo).port;
    sandbox = await startSandbox({ keep: 10, webhookUrl: `http://127.0.0.1:${port}/hooks` });
    const [ticket] = sandbox.seed({ tickets: [{ subject: 'Where is my order?' }] })
      .tickets as Array<{
      id: string;
    }>;
    for (let revision = 1; revision <= 30; revision += 1) {
      const status = revision % 2 === 0 ? 'open' : 'pending';
      const answer = await call(sandbox.url, 'PUT', `/api/tickets/${ticket?.id}`, {
        expectedRevision: revision,
        status,
      });
      expect(answer.status).toBe(200);
    }
    await sandbox.webhooksSettled();

    const all = (await call(sandbox.url, 'GET', '/_writes')).body;
    const seqs = all.writes.map((write: { seq: number }) => write.seq);
    // The latest ones, in order, numbered as they were applied: at most a tenth more than 10.
    expect(seqs.length).toBeGreaterThanOrEqual(10);
    expect(seqs.length).toBeLessThanOrEqual(11);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 31 - seqs.length + i));
    expect(all.dropped).toBe(30 - seqs.length);
    // A reader that kept up misses nothing.
    expect((await call(sandbox.url, 'GET', '/_writes?since=25')).body).toMatchObject({
      dropped: 0,
      writes: [{ seq: 26 }, { seq: 27 }, { seq: 28 }, { seq: 29 }, { seq: 30 }],
    });

    const deliveries = (await call(sandbox.url, 'GET', '/_deliveries')).body.deliveries;
    expect(deliveries.length).toBeGreaterThanOrEqual(10);
    expect(deliveries.length).toBeLessThanOrEqual(11);
    expect(deliveries.at(-1)).toMatchObject({ writeSeq: 30, status: 'delivered' });
  });

  it('refuses a number of writes to keep that is not one', () => {
    for (const keep of [0, -5, 2.5, Number.NaN]) {
      expect(() => createSandbox({ keep }), String(keep)).toThrow(/keep must be/);
    }
    expect(() => createSandbox({ keep: Number.POSITIVE_INFINITY })).not.toThrow();
  });
});
