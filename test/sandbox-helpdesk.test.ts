import { afterEach, describe, expect, it } from 'vitest';
import { IDEMPOTENCY_TTL_MS, type Sandbox } from '../src/sandbox/index.js';
import { call, startSandbox } from './helpers/sandbox.js';

let sandbox: Sandbox & { url: string };
afterEach(() => sandbox?.close());

/** A sandbox with one contact and one open ticket requested by it. */
async function withTicket(options: Parameters<typeof startSandbox>[0] = {}) {
  sandbox = await startSandbox(options);
  const seeded = sandbox.seed({
    contacts: [{ properties: { email: 'ada@example.com', name: 'Ada' } }],
  });
  const contactId = String(seeded.contacts[0]?.id);
  const created = await call(sandbox.url, 'POST', '/api/tickets', {
    subject: 'Where is my order?',
    comment: { body: 'It has been two weeks.' },
    requesterId: contactId,
  });
  expect(created.status).toBe(201);
  return { contactId, ticketId: String(created.body.ticket.id) };
}

describe('sandbox helpdesk (Zendesk profile)', () => {
  it('applies an update at the expected revision and refuses a stale one with 409', async () => {
    const { ticketId } = await withTicket();
    const path = `/api/tickets/${ticketId}`;

    const applied = await call(sandbox.url, 'PUT', path, { expectedRevision: 1, status: 'open' });
    expect(applied.status).toBe(200);
    expect(applied.body.ticket).toMatchObject({ status: 'open', revision: 2 });
    expect(applied.body.audit.events).toEqual([
      { type: 'Change', field: 'status', previous: 'new', value: 'open' },
    ]);

    const stale = await call(sandbox.url, 'PUT', path, { expectedRevision: 1, status: 'solved' });
    expect(stale.status).toBe(409);
    expect(stale.headers.get('content-type')).toContain('application/problem+json');
    expect(stale.body).toMatchObject({
      type: 'urn:airlock:problem:stale-revision',
      currentRevision: 2,
      expectedRevision: 1,
    });
    const now = await call(sandbox.url, 'GET', path);
    expect(now.body.ticket).toMatchObject({ status: 'open', revision: 2 });
    expect(sandbox.state.writes.map((w) => w.operation)).toEqual([
      'ticket.create',
      'ticket.update',
    ]);
  });

  it('takes an expected revision as decimal text too, and applies unconditional updates', async () => {
    const { ticketId } = await withTicket();
    const path = `/api/tickets/${ticketId}`;
    expect(
      (await call(sandbox.url, 'PUT', path, { expectedRevision: '1', assignee: 'bo' })).status,
    ).toBe(200);
    const blind = await call(sandbox.url, 'PUT', path, { assignee: 'cy' });
    expect(blind.body.ticket).toMatchObject({ assignee: 'cy', revision: 3 });
  });

  it('keeps the revision when an update changes nothing, and records no write', async () => {
    const { ticketId } = await withTicket();
    const path = `/api/tickets/${ticketId}`;
    const same = await call(sandbox.url, 'PUT', path, { status: 'new', tags: [] });
    expect(same.status).toBe(200);
    expect(same.body.ticket.revision).toBe(1);
    expect(same.body.audit.events).toEqual([]);
    expect(sandbox.state.writes).toHaveLength(1);
  });

  it('answers a repeated Idempotency-Key with the first response, 422 for another body', async () => {
    let clock = Date.parse('2026-12-01T10:00:00Z');
    sandbox = await startSandbox({ now: () => clock });
    const body = { subject: 'Refund', comment: { body: 'Please refund me.' }, tags: ['refund'] };
    const key = { 'idempotency-key': 'create-1' };

    const first = await call(sandbox.url, 'POST', '/api/tickets', body, key);
    expect(first.status).toBe(201);
    expect(first.headers.get('x-idempotency-lookup')).toBe('miss');

    // The same content with its keys in another order is the same request.
    const reordered = {
      tags: ['refund'],
      comment: { body: 'Please refund me.' },
      subject: 'Refund',
    };
    const again = await call(sandbox.url, 'POST', '/api/tickets', reordered, key);
    expect(again.status).toBe(201);
    expect(again.headers.get('x-idempotency-lookup')).toBe('hit');
    expect(again.body).toEqual(first.body);
    expect(sandbox.state.tickets.size).toBe(1);

    const other = await call(sandbox.url, 'POST', '/api/tickets', { ...body, subject: 'x' }, key);
    expect(other.status).toBe(422);
    expect(other.body.type).toBe('urn:airlock:problem:idempotency-key-reuse');
    expect(sandbox.state.tickets.size).toBe(1);

    // Keys are kept 2 hours; after that the same request creates another ticket.
    clock += IDEMPOTENCY_TTL_MS - 1;
    expect(
      (await call(sandbox.url, 'POST', '/api/tickets', body, key)).headers.get(
        'x-idempotency-lookup',
      ),
    ).toBe('hit');
    clock += 1;
    const expired = await call(sandbox.url, 'POST', '/api/tickets', body, key);
    expect(expired.headers.get('x-idempotency-lookup')).toBe('miss');
    expect(expired.body.ticket.id).not.toBe(first.body.ticket.id);
    expect(sandbox.state.tickets.size).toBe(2);
  });

  it('adds replies and notes with a marker that the comment list finds', async () => {
    const { ticketId } = await withTicket();
    const path = `/api/tickets/${ticketId}`;
    const reply = await call(
      sandbox.url,
      'PUT',
      path,
      { comment: { kind: 'reply', body: 'On its way.', marker: 'act_1' } },
      { 'x-actor': 'airlock', 'x-action-id': 'act_1' },
    );
    expect(reply.status).toBe(200);
    expect(reply.body.ticket.lastAgentReplyAt).not.toBeNull();
    await call(sandbox.url, 'PUT', path, {
      comment: { kind: 'note', body: 'VIP', marker: 'act_2' },
    });

    const found = await call(sandbox.url, 'GET', `${path}/comments?marker=act_1`);
    expect(found.body.comments).toEqual([
      expect.objectContaining({
        kind: 'reply',
        body: 'On its way.',
        public: true,
        author: 'airlock',
        marker: 'act_1',
        revision: 2,
      }),
    ]);
    const all = await call(sandbox.url, 'GET', `${path}/comments`);
    expect(all.body.comments.map((c: { kind: string }) => c.kind)).toEqual([
      'message',
      'reply',
      'note',
    ]);
    expect(all.body.comments[2].public).toBe(false);
    const none = await call(sandbox.url, 'GET', `${path}/comments?marker=act_9`);
    expect(none.body.comments).toEqual([]);
    expect(sandbox.state.writes.at(-2)).toMatchObject({ actor: 'airlock', actionId: 'act_1' });
  });

  it('reopens a solved ticket when the customer writes, and refuses changes to a closed one', async () => {
    const { ticketId } = await withTicket();
    const path = `/api/tickets/${ticketId}`;
    await call(sandbox.url, 'PUT', path, { status: 'solved' });
    const message = await call(sandbox.url, 'PUT', path, {
      comment: { kind: 'message', body: 'Still nothing!' },
    });
    expect(message.body.ticket.status).toBe('open');
    const comment = message.body.audit.events.find((e: { type: string }) => e.type === 'Comment');
    expect(message.body.ticket.lastCustomerMessageAt).toBe(comment.createdAt);
    expect(message.body.audit.events).toContainEqual({
      type: 'Change',
      field: 'status',
      previous: 'solved',
      value: 'open',
    });

    await call(sandbox.url, 'PUT', path, { status: 'closed' });
    const late = await call(sandbox.url, 'PUT', path, { status: 'open' });
    expect(late.status).toBe(422);
    expect(late.body.type).toBe('urn:airlock:problem:ticket-closed');
  });

  it('lists tickets by external id', async () => {
    sandbox = await startSandbox();
    const body = { subject: 's', comment: { body: 'b' }, externalId: 'act_7' };
    await call(sandbox.url, 'POST', '/api/tickets', body);
    await call(sandbox.url, 'POST', '/api/tickets', { ...body, externalId: 'act_8' });
    const listed = await call(sandbox.url, 'GET', '/api/tickets?external_id=act_7');
    expect(listed.body.tickets).toHaveLength(1);
    expect(listed.body.tickets[0].externalId).toBe('act_7');
  });

  it('answers bad input with a 4xx problem, never a 5xx', async () => {
    const { ticketId, contactId } = await withTicket();
    const path = `/api/tickets/${ticketId}`;
    const cases: [string, string, unknown, number, string][] = [
      ['PUT', path, '{not json', 400, 'malformed-body'],
      ['PUT', path, { status: 'deleted' }, 400, 'invalid-request'],
      ['PUT', path, { surprise: true }, 400, 'invalid-request'],
      ['PUT', path, { expectedRevision: 'seven' }, 400, 'invalid-request'],
      ['PUT', path, { comment: { kind: 'reply', body: '' } }, 400, 'invalid-request'],
      ['PUT', '/api/tickets/999999', { status: 'open' }, 404, 'not-found'],
      ['PUT', `/api/tickets/${contactId}`, { status: 'open' }, 404, 'not-found'],
      ['POST', '/api/tickets', [], 400, 'invalid-request'],
      [
        'POST',
        '/api/tickets',
        { subject: 's', comment: { body: 'b' }, requesterId: ticketId },
        422,
        'unknown-requester',
      ],
      ['GET', '/api/nothing', undefined, 404, 'not-found'],
    ];
    for (const [method, where, body, status, code] of cases) {
      const answer = await call(sandbox.url, method, where, body);
      expect({ method, where, body, status: answer.status, type: answer.body?.type }).toEqual({
        method,
        where,
        body,
        status,
        type: `urn:airlock:problem:${code}`,
      });
    }
    expect(sandbox.state.writes).toHaveLength(1);
  });
});
