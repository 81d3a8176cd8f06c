import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../src/sandbox/index.js';
import { call, startSandbox } from './helpers/sandbox.js';

let sandbox: Sandbox & { url: string };
afterEach(() => sandbox?.close());

async function withTicket() {
  sandbox = await startSandbox();
  const created = await call(sandbox.url, 'POST', '/api/tickets', {
    subject: 's',
    comment: { body: 'b' },
  });
  return `/api/tickets/${created.body.ticket.id}`;
}

describe('sandbox fault injection', () => {
  it('answers the next N requests with a 5xx without applying them', async () => {
    const path = await withTicket();
    const fault = await call(sandbox.url, 'POST', '/_faults', {
      operation: 'ticket.update',
      times: 2,
      status: 503,
    });
    expect(fault.status).toBe(201);

    for (let i = 0; i < 2; i += 1) {
      const failed = await call(sandbox.url, 'PUT', path, { status: 'open' });
      expect(failed.status).toBe(503);
      expect(failed.headers.get('retry-after')).toBe('1');
      expect(failed.body.type).toBe('urn:airlock:problem:injected-fault');
    }
    expect(sandbox.state.writes).toHaveLength(1);
    // Other operations were never affected.
    expect((await call(sandbox.url, 'GET', path)).status).toBe(200);

    const applied = await call(sandbox.url, 'PUT', path, { status: 'open' });
    expect(applied.status).toBe(200);
    expect((await call(sandbox.url, 'GET', '/_faults')).body.faults).toEqual([]);
  });

  it('answers 429 with the Retry-After it was given', async () => {
    sandbox = await startSandbox();
    await call(sandbox.url, 'POST', '/_faults', {
      operation: '*',
      status: 429,
      retryAfterSeconds: 7,
    });
    const limited = await call(sandbox.url, 'POST', '/crm/v3/objects/contacts', {
      properties: { email: 'a@b.c' },
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(sandbox.state.crm.size).toBe(0);
  });

  it('applies a write and then holds its answer back past the caller’s timeout', async () => {
    const path = await withTicket();
    await call(sandbox.url, 'POST', '/_faults', { operation: 'ticket.update', delayMs: 800 });
    const started = Date.now();
    await expect(
      fetch(`${sandbox.url}${path}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ status: 'solved' }),
        signal: AbortSignal.timeout(150),
      }),
    ).rejects.toThrow(/aborted|timeout/i);
    expect(Date.now() - started).toBeLessThan(800);
    // The write landed although the caller never heard.
    const now = await call(sandbox.url, 'GET', path);
    expect(now.body.ticket).toMatchObject({ status: 'solved', revision: 2 });
    expect(sandbox.state.writes.map((w) => w.operation)).toEqual([
      'ticket.create',
      'ticket.update',
    ]);

    // A caller that waits long enough gets the answer.
    await call(sandbox.url, 'POST', '/_faults', { operation: 'ticket.update', delayMs: 150 });
    const slow = Date.now();
    const answered = await call(sandbox.url, 'PUT', path, { status: 'open' });
    expect(answered.status).toBe(200);
    expect(Date.now() - slow).toBeGreaterThanOrEqual(140);
  });

  it('lists every applied write and clears faults', async () => {
    const path = await withTicket();
    await call(
      sandbox.url,
      'PUT',
      path,
      { tags: ['a'] },
      { 'x-actor': 'airlock', 'x-action-id': 'act_1' },
    );
    const writes = await call(sandbox.url, 'GET', '/_writes?since=1');
    expect(writes.body.writes).toEqual([
      expect.objectContaining({
        seq: 2,
        operation: 'ticket.update',
        record: { type: 'ticket', id: path.split('/').at(-1) },
        revision: 2,
        actor: 'airlock',
        actionId: 'act_1',
        changes: [{ field: 'tags', previous: [], value: ['a'] }],
      }),
    ]);
    await call(sandbox.url, 'POST', '/_faults', { operation: '*', status: 500, times: 5 });
    expect((await call(sandbox.url, 'DELETE', '/_faults')).status).toBe(204);
    expect((await call(sandbox.url, 'GET', path)).status).toBe(200);
  });

  it('refuses a malformed fault or seed with 400', async () => {
    sandbox = await startSandbox();
    for (const body of [
      { operation: 'ticket.update' },
      { operation: 'ticket.update', status: 503, delayMs: 10 },
      { operation: 'ticket.update', status: 404 },
    ]) {
      expect((await call(sandbox.url, 'POST', '/_faults', body)).status).toBe(400);
    }
    const seed = await call(sandbox.url, 'POST', '/_seed', {
      tickets: [{ subject: 's', comments: [{ kind: 'reply', body: 'x' }] }],
    });
    expect(seed.status).toBe(400);
    const ok = await call(sandbox.url, 'POST', '/_seed', {
      contacts: [{ properties: { email: 'a@b.c' } }],
      orders: [{ currency: 'EUR', subtotal: 5 }],
    });
    expect(ok.status).toBe(201);
    expect(ok.body.orders[0]).toMatchObject({ status: 'open', total: 5, revision: 1 });
  });
});
