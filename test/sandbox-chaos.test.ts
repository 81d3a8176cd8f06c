import { afterEach, describe, expect, it } from 'vitest';
import type { ChaosOptions, Sandbox } from '../src/sandbox/index.js';
import { call, type Receiver, startReceiver, startSandbox } from './helpers/sandbox.js';
import { runCli } from './helpers/subprocess.js';

let sandboxes: Sandbox[] = [];
let receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.map((s) => s.close()));
  await Promise.all(receivers.map((r) => r.close()));
  sandboxes = [];
  receivers = [];
});

/** A sandbox with `chaos`, sending CRM webhooks to a fresh receiver. */
async function setUp(chaos: ChaosOptions) {
  const receiver = await startReceiver();
  receivers.push(receiver);
  const sandbox = await startSandbox({ webhookUrl: { crm: `${receiver.url}/hooks/crm` }, chaos });
  sandboxes.push(sandbox);
  return { receiver, sandbox };
}

const createContact = (url: string, n: number) =>
  call(url, 'POST', '/crm/v3/objects/contacts', { properties: { email: `c${n}@example.com` } });

/** The contact id each received HubSpot batch is about. */
const objectIds = (receiver: Receiver) =>
  receiver.received.map((r) => String(JSON.parse(r.body.toString('utf8'))[0].objectId));

describe('sandbox chaos: webhooks', () => {
  it('sends a duplicated delivery twice, byte for byte', async () => {
    const { receiver, sandbox } = await setUp({ seed: 1, webhooks: { duplicate: 1 } });
    for (let n = 0; n < 3; n += 1) await createContact(sandbox.url, n);
    await sandbox.webhooksSettled();
    const received = await receiver.waitFor(6);
    expect(received).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) {
      expect(received[i]?.body.equals(received[i + 1]?.body as Buffer)).toBe(true);
      expect(received[i]?.headers['x-hubspot-signature-v3']).toBe(
        received[i + 1]?.headers['x-hubspot-signature-v3'],
      );
    }
    expect(new Set(received.map((r) => r.body.toString())).size).toBe(3);
    expect(sandbox.deliveries()).toEqual(
      Array.from({ length: 3 }, () =>
        expect.objectContaining({ attempts: 1, status: 'delivered', chaos: ['duplicate'] }),
      ),
    );
    expect((await call(sandbox.url, 'GET', '/_chaos')).body.injected).toMatchObject({
      duplicate: 3,
      reorder: 0,
    });
  });

  it('holds reordered deliveries out of line, so later writes’ webhooks overtake them', async () => {
    const { receiver, sandbox } = await setUp({
      seed: 1,
      webhooks: { reorder: 1, reorderWindowMs: 300 },
    });
    const ids: string[] = [];
    for (let n = 0; n < 6; n += 1) ids.push((await createContact(sandbox.url, n)).body.id);
    await sandbox.webhooksSettled();
    const arrived = objectIds(receiver);
    expect([...arrived].sort()).toEqual(ids);
    expect(arrived).not.toEqual(ids);
    expect(sandbox.chaosReport().injected.reorder).toBe(6);
  });

  it('drops the first attempt and delivers on the retry', async () => {
    const { receiver, sandbox } = await setUp({ seed: 1, webhooks: { drop: 1 } });
    await createContact(sandbox.url, 1);
    await sandbox.webhooksSettled();
    expect(receiver.received.map((r) => JSON.parse(r.body.toString())[0].attemptNumber)).toEqual([
      1,
    ]);
    const deliveries = (await call(sandbox.url, 'GET', '/_deliveries')).body.deliveries;
    expect(deliveries).toEqual([
      expect.objectContaining({ attempts: 2, status: 'delivered', chaos: ['drop'] }),
    ]);
  });
});

describe('sandbox chaos: API', () => {
  it('answers 5xx without applying; explicit faults and admin routes come first', async () => {
    const { sandbox } = await setUp({ seed: 1, api: { error5xx: 1 } });
    const failed = await createContact(sandbox.url, 1);
    expect([500, 502, 503, 504]).toContain(failed.status);
    expect(failed.body).toMatchObject({
      type: 'urn:airlock:problem:injected-fault',
      chaos: 'error5xx',
      operation: 'contact.create',
    });
    expect((await call(sandbox.url, 'GET', '/_writes')).body.writes).toEqual([]);

    await call(sandbox.url, 'POST', '/_faults', {
      operation: '*',
      status: 429,
      retryAfterSeconds: 7,
    });
    const explicit = await createContact(sandbox.url, 2);
    expect(explicit.status).toBe(429);
    expect(explicit.body.fault).toBe(1);
    expect((await call(sandbox.url, 'GET', '/_chaos')).body).toMatchObject({
      seed: 1,
      options: { api: { error5xx: 1, holdMs: 15_000 } },
      injected: { error5xx: 1 },
    });
  });

  it('answers 429 with Retry-After without applying', async () => {
    const { sandbox } = await setUp({ seed: 1, api: { tooManyRequests: 1 } });
    const limited = await createContact(sandbox.url, 1);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(sandbox.state.writes).toEqual([]);
  });

  it('applies a slow request, then answers late', async () => {
    const { sandbox } = await setUp({ seed: 1, api: { slow: 1, slowMs: 150 } });
    const started = Date.now();
    expect((await createContact(sandbox.url, 1)).status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('applies the write and holds the answer past the caller’s timeout', async () => {
    const { sandbox } = await setUp({ seed: 1, api: { timeoutAfterApply: 1, holdMs: 5000 } });
    await expect(
      fetch(`${sandbox.url}/crm/v3/objects/contacts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ properties: { email: 'late@example.com' } }),
        signal: AbortSignal.timeout(500),
      }),
    ).rejects.toThrow(/aborted|timeout/i);
    const writes = (await call(sandbox.url, 'GET', '/_writes')).body.writes;
    expect(writes).toEqual([expect.objectContaining({ operation: 'contact.create' })]);
    expect(sandbox.chaosReport().injected.timeoutAfterApply).toBe(1);
  });
});

describe('sandbox chaos: determinism', () => {
  /** 50 sequential writes under 0.3 of everything; what chaos chose, per request and per write. */
  async function run(seed: number) {
    const { sandbox } = await setUp({
      seed,
      webhooks: {
        duplicate: 0.3,
        reorder: 0.3,
        reorderWindowMs: 40,
        delay: 0.3,
        delayMs: 20,
        drop: 0.3,
      },
      api: {
        error5xx: 0.3,
        tooManyRequests: 0.3,
        slow: 0.3,
        slowMs: 5,
        timeoutAfterApply: 0.3,
        holdMs: 10,
      },
    });
    const statuses: number[] = [];
    for (let n = 0; n < 50; n += 1) statuses.push((await createContact(sandbox.url, n)).status);
    await sandbox.webhooksSettled();
    const perWrite = sandbox.deliveries().map((d) => [d.writeSeq, d.chaos, d.attempts]);
    return { statuses, perWrite, report: sandbox.chaosReport() };
  }

  it('makes the same decisions for the same seed, and others for another seed', async () => {
    const first = await run(7);
    const again = await run(7);
    const other = await run(8);
    expect(again).toEqual(first);
    expect(first.statuses.filter((s) => s !== 201).length).toBeGreaterThan(0);
    expect(
      first.perWrite.filter(([, chaos]) => (chaos as string[]).length > 0).length,
    ).toBeGreaterThan(0);
    expect(other.statuses).not.toEqual(first.statuses);
    expect(other.report.injected).not.toEqual(first.report.injected);
  });
});

describe('airlock sandbox --chaos', () => {
  it('refuses a bad spec with exit code 2', async () => {
    const bad = await runCli(['sandbox', '--port', '0', '--chaos', 'wild']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown chaos preset "wild": expected mild, heavy/);
    const outOfRange = await runCli(['sandbox', '--chaos', '{"webhooks":{"drop":1.5}}']);
    expect(outOfRange.code).toBe(2);
    expect(outOfRange.stderr).toMatch(/webhooks\.drop/);
  });
});
