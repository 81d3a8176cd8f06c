import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Connector,
  createSandboxConnector,
  type WriteOutcome,
} from '../src/connectors/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import { seedWorld, startSandbox, type World, writeRequest } from './helpers/sandbox.js';

let sandbox: Sandbox & { url: string };
let world: World;
let connector: Connector;

beforeEach(async () => {
  sandbox = await startSandbox();
  world = seedWorld(sandbox);
  connector = createSandboxConnector({ system: 'sandbox', url: sandbox.url, timeoutMs: 2000 });
});
afterEach(() => sandbox.close());

/** The target's revision as the connector reads it now. */
async function revisionOf(type: string, id: string): Promise<string> {
  const snapshot = await connector.read({ system: 'sandbox', type, id });
  if (!snapshot) throw new Error(`${type} ${id} is missing`);
  return snapshot.revision;
}

function applied(outcome: WriteOutcome) {
  if (outcome.kind !== 'applied')
    throw new Error(`expected applied, got ${JSON.stringify(outcome)}`);
  return outcome.effect;
}

describe('sandbox connector: execute', () => {
  it('applies every operation exactly once, with its effect and the revision after it', async () => {
    const ticket = { type: 'ticket', id: world.ticket };
    const cases: {
      operation: string;
      target: { type: string; id: string };
      params: Record<string, unknown>;
      create?: boolean;
      effect: (actionId: string, key: string) => Record<string, unknown>;
    }[] = [
      {
        operation: 'ticket.reply',
        target: ticket,
        params: { body: 'It ships today.' },
        effect: (actionId) => ({
          before: null,
          after: {
            comment: expect.objectContaining({
              kind: 'reply',
              body: 'It ships today.',
              public: true,
              marker: actionId,
            }),
          },
        }),
      },
      {
        operation: 'ticket.add_note',
        target: ticket,
        params: { body: 'Carrier delayed.' },
        effect: (actionId) => ({
          after: {
            comment: expect.objectContaining({ kind: 'note', public: false, marker: actionId }),
          },
        }),
      },
      {
        operation: 'ticket.set_status',
        target: ticket,
        params: { status: 'pending', reason: 'waiting for carrier' },
        effect: () => ({ before: { status: 'new' }, after: { status: 'pending' } }),
      },
      {
        operation: 'ticket.assign',
        target: ticket,
        params: { assignee: 'bo' },
        effect: () => ({ before: { assignee: null }, after: { assignee: 'bo' } }),
      },
      {
        operation: 'ticket.tag',
        target: ticket,
        params: { add: ['vip', 'shipping'], remove: [] },
        effect: () => ({ before: { tags: [] }, after: { tags: ['vip', 'shipping'] } }),
      },
      {
        operation: 'note.create',
        target: ticket,
        params: { body: 'Via note.create' },
        effect: (actionId) => ({
          after: { comment: expect.objectContaining({ kind: 'note', marker: actionId }) },
        }),
      },
      {
        operation: 'ticket.create',
        target: { type: 'ticket', id: 'new' },
        params: { subject: 'Broken lid', body: 'The lid broke.', requesterId: world.contact },
        create: true,
        effect: () => ({
          before: null,
          after: { subject: 'Broken lid', status: 'new', requesterId: world.contact },
        }),
      },
      {
        operation: 'contact.create',
        target: { type: 'contact', id: 'new' },
        params: { email: 'grace@example.com', name: 'Grace' },
        create: true,
        effect: () => ({
          before: null,
          after: expect.objectContaining({ email: 'grace@example.com', name: 'Grace' }),
        }),
      },
      {
        operation: 'contact.update',
        target: { type: 'contact', id: world.contact },
        params: { changes: { name: 'Ada L.', phone: '+44 1' } },
        effect: () => ({
          before: { name: 'Ada', phone: null },
          after: { name: 'Ada L.', phone: '+44 1' },
        }),
      },
      {
        operation: 'deal.set_stage',
        target: { type: 'deal', id: world.deal },
        params: { stage: 'closedwon' },
        effect: () => ({
          before: { stage: 'appointmentscheduled' },
          after: { stage: 'closedwon' },
        }),
      },
      {
        operation: 'note.create',
        target: { type: 'contact', id: world.contact },
        params: { body: 'Called, no answer.' },
        effect: () => ({
          before: null,
          after: expect.objectContaining({ hs_note_body: 'Called, no answer.' }),
        }),
      },
      {
        operation: 'email.send',
        target: { type: 'contact', id: world.contact },
        params: { subject: 'Your order', body: 'It ships today.' },
        effect: () => ({
          after: expect.objectContaining({
            hs_email_subject: 'Your order',
            hs_email_to: 'ada@example.com',
          }),
        }),
      },
      {
        operation: 'discount.apply',
        target: { type: 'order', id: world.order },
        params: { amount: 10, currency: 'EUR', code: 'SORRY' },
        effect: () => ({
          before: { total: 100 },
          after: { total: 90, discount: expect.objectContaining({ amount: 10, code: 'SORRY' }) },
        }),
      },
      {
        operation: 'order.cancel',
        target: { type: 'order', id: world.order },
        params: { reason: 'customer asked' },
        effect: () => ({ before: { status: 'open' }, after: { status: 'cancelled' } }),
      },
    ];

    for (const { operation, target, params, create, effect } of cases) {
      const expected = create ? null : await revisionOf(target.type, target.id);
      const request = writeRequest(operation, target, params, expected);
      const writes = sandbox.state.writes.length;
      const effectOf = applied(await connector.execute(request));
      expect(effectOf, operation).toMatchObject(effect(request.actionId, request.idempotencyKey));
      expect(sandbox.state.writes.length, operation).toBe(writes + 1);
      const write = sandbox.state.writes.at(-1);
      expect(write, operation).toMatchObject({ actor: 'airlock', actionId: request.actionId });
      // The effect names the record written and the revision it is at now.
      expect(effectOf.ref.system).toBe('sandbox');
      expect(await revisionOf(effectOf.ref.type, effectOf.ref.id), operation).toBe(
        effectOf.revision,
      );
      if (!create && target.type === effectOf.ref.type) {
        expect(Number(effectOf.revision), operation).toBe(Number(expected) + 1);
      }
    }
  });

  it('puts the idempotency key into the unique airlock_key of CRM records and discounts', async () => {
    const request = writeRequest(
      'contact.create',
      { type: 'contact', id: 'new' },
      { email: 'g@example.com' },
    );
    const effect = applied(await connector.execute(request));
    expect(sandbox.state.crm.get(effect.ref.id)?.properties.airlock_key).toBe(
      request.idempotencyKey,
    );
    const discount = writeRequest(
      'discount.apply',
      { type: 'order', id: world.order },
      { amount: 5, currency: 'EUR' },
    );
    await connector.execute(discount);
    expect(sandbox.state.orders.get(world.order)?.discounts[0]?.airlock_key).toBe(
      discount.idempotencyKey,
    );
  });

  it('has no second effect when a create is executed again with the same key', async () => {
    const requests = [
      writeRequest('contact.create', { type: 'contact', id: 'new' }, { email: 'g@example.com' }),
      writeRequest(
        'note.create',
        { type: 'deal', id: world.deal },
        { body: 'Renewal call booked' },
      ),
      writeRequest(
        'email.send',
        { type: 'contact', id: world.contact },
        { subject: 'Hi', body: 'Hello' },
      ),
      writeRequest(
        'discount.apply',
        { type: 'order', id: world.order },
        { amount: 5, currency: 'EUR' },
      ),
      writeRequest(
        'ticket.create',
        { type: 'ticket', id: 'new' },
        { subject: 'Lid', body: 'Broken' },
      ),
    ];
    for (const request of requests) {
      const first = applied(await connector.execute(request));
      const writes = sandbox.state.writes.length;
      const second = applied(await connector.execute(request));
      expect(second.ref, request.operation).toEqual(first.ref);
      expect(sandbox.state.writes.length, request.operation).toBe(writes);
    }
  });

  it('answers conflict when the record moved on: refused by tickets and orders, detected for the CRM', async () => {
    // Move every target one revision on, behind the connector's back.
    const moved = writeRequest('ticket.tag', { type: 'ticket', id: world.ticket }, { add: ['x'] });
    await connector.execute(moved);
    await connector.execute(
      writeRequest(
        'contact.update',
        { type: 'contact', id: world.contact },
        { changes: { phone: '1' } },
      ),
    );
    await connector.execute(
      writeRequest('deal.set_stage', { type: 'deal', id: world.deal }, { stage: 'qualifiedtobuy' }),
    );
    await connector.execute(
      writeRequest(
        'discount.apply',
        { type: 'order', id: world.order },
        { amount: 1, currency: 'EUR' },
      ),
    );

    const stale = [
      writeRequest(
        'ticket.set_status',
        { type: 'ticket', id: world.ticket },
        { status: 'solved' },
        '1',
      ),
      writeRequest('ticket.reply', { type: 'ticket', id: world.ticket }, { body: 'Hi' }, '1'),
      writeRequest('order.cancel', { type: 'order', id: world.order }, { reason: 'r' }, '1'),
      writeRequest(
        'discount.apply',
        { type: 'order', id: world.order },
        { amount: 1, currency: 'EUR' },
        '1',
      ),
      writeRequest(
        'contact.update',
        { type: 'contact', id: world.contact },
        { changes: { name: 'X' } },
        '1',
      ),
      writeRequest(
        'deal.set_stage',
        { type: 'deal', id: world.deal },
        { stage: 'closedlost' },
        '1',
      ),
      writeRequest('note.create', { type: 'contact', id: world.contact }, { body: 'n' }, '1'),
      writeRequest(
        'email.send',
        { type: 'contact', id: world.contact },
        { subject: 's', body: 'b' },
        '1',
      ),
    ];
    const writes = sandbox.state.writes.length;
    for (const request of stale) {
      const outcome = await connector.execute(request);
      expect(outcome, request.operation).toMatchObject({ kind: 'conflict', status: 409 });
    }
    expect(sandbox.state.writes.length).toBe(writes);
  });

  it('answers retry for 429 and 5xx, honouring Retry-After, and applies nothing', async () => {
    const reply = () =>
      writeRequest('ticket.reply', { type: 'ticket', id: world.ticket }, { body: 'Hi' });
    sandbox.faults.add({ operation: 'ticket.update', status: 429, retryAfterSeconds: 3 });
    expect(await connector.execute(reply())).toMatchObject({
      kind: 'retry',
      status: 429,
      retryAfterMs: 3000,
    });
    sandbox.faults.add({ operation: 'ticket.update', status: 503 });
    expect(await connector.execute(reply())).toMatchObject({
      kind: 'retry',
      status: 503,
      retryAfterMs: 1000,
    });
    sandbox.faults.add({ operation: 'ticket.update', status: 500 });
    expect(await connector.execute(reply())).toMatchObject({
      kind: 'retry',
      status: 500,
      retryAfterMs: null,
    });
    // The CRM's read before the write fails: nothing was written, so retry, not ambiguous.
    sandbox.faults.add({ operation: 'contact.read', status: 502 });
    const update = writeRequest(
      'contact.update',
      { type: 'contact', id: world.contact },
      { changes: { name: 'X' } },
    );
    expect(await connector.execute(update)).toMatchObject({ kind: 'retry', status: 502 });
    expect(sandbox.state.writes).toHaveLength(0);
  });

  it('answers retry when the sandbox refuses the connection', async () => {
    const gone = await startSandbox();
    const url = gone.url;
    await gone.close();
    const offline = createSandboxConnector({ system: 'sandbox', url, timeoutMs: 1000 });
    const outcome = await offline.execute(
      writeRequest('ticket.reply', { type: 'ticket', id: world.ticket }, { body: 'Hi' }),
    );
    expect(outcome).toMatchObject({ kind: 'retry', status: null, retryAfterMs: null });
    expect(outcome.kind === 'retry' && outcome.message).toMatch(/ECONNREFUSED/);
    await expect(
      offline.read({ system: 'sandbox', type: 'ticket', id: world.ticket }),
    ).rejects.toMatchObject({
      code: 'connector-unavailable',
      failure: 'unsent',
    });
  });

  it('answers permanent for what can never succeed as sent', async () => {
    const cases = [
      [
        writeRequest('ticket.delete', { type: 'ticket', id: world.ticket }, {}),
        422,
        /no operation ticket.delete/,
      ],
      [
        writeRequest('order.cancel', { type: 'ticket', id: world.ticket }, { reason: 'r' }),
        422,
        /cannot target a ticket/,
      ],
      [
        writeRequest('ticket.reply', { type: 'ticket', id: world.ticket }, { text: 'Hi' }),
        422,
        /invalid params/,
      ],
      [
        writeRequest(
          'ticket.set_status',
          { type: 'ticket', id: world.ticket },
          { status: 'deleted' },
        ),
        400,
        /status/,
      ],
      [
        writeRequest('ticket.reply', { type: 'ticket', id: '999999' }, { body: 'Hi' }),
        404,
        /not found/,
      ],
      [
        writeRequest(
          'contact.update',
          { type: 'contact', id: world.contact },
          { changes: { shoe_size: 42 } },
        ),
        400,
        /shoe_size/,
      ],
      [
        writeRequest(
          'contact.update',
          { type: 'contact', id: '999999' },
          { changes: { name: 'X' } },
        ),
        404,
        /not found/,
      ],
      [
        writeRequest(
          'contact.create',
          { type: 'contact', id: 'new' },
          { email: 'ADA@example.com' },
        ),
        409,
        new RegExp(`Existing ID: ${world.contact}`),
      ],
      [
        writeRequest(
          'email.send',
          { type: 'contact', id: world.silentContact },
          { subject: 's', body: 'b' },
        ),
        422,
        /no email/,
      ],
      [
        writeRequest('order.cancel', { type: 'order', id: world.shippedOrder }, { reason: 'r' }),
        422,
        /shipped/,
      ],
      [
        writeRequest(
          'discount.apply',
          { type: 'order', id: world.order },
          { amount: 5, currency: 'USD' },
        ),
        422,
        /EUR/,
      ],
    ] as const;
    for (const [request, status, message] of cases) {
      const outcome = await connector.execute(request);
      expect(outcome, request.operation).toMatchObject({ kind: 'permanent', status });
      expect(outcome.kind === 'permanent' && outcome.message, request.operation).toMatch(message);
    }
    expect(sandbox.state.writes).toHaveLength(0);
  });

  it('throws how a read failed: the system’s status, or a timeout', async () => {
    const ticket = { system: 'sandbox', type: 'ticket', id: world.ticket };
    sandbox.faults.add({ operation: 'ticket.read', status: 503 });
    await expect(connector.read(ticket)).rejects.toMatchObject({
      code: 'connector-unavailable',
      status: 503,
      failure: 503,
    });
    sandbox.faults.add({ operation: 'ticket.read', delayMs: 3000 });
    await expect(connector.related(ticket)).rejects.toMatchObject({
      code: 'connector-unavailable',
      failure: 'timeout',
    });
    // A 4xx to a read of one record: the system refuses that id, which is the caller's to fix.
    const refused = { system: 'sandbox', type: 'contact', id: 'x'.repeat(501) };
    await expect(connector.read(refused)).rejects.toMatchObject({
      code: 'invalid-target',
      status: 422,
      failure: 414,
    });
    expect(await connector.read({ ...refused, id: 'x'.repeat(500) })).toBeNull();
  });

  it('reads records with their revision, and declares a ticket’s requester related', async () => {
    const ticket = { system: 'sandbox', type: 'ticket', id: world.ticket };
    const snapshot = await connector.read(ticket);
    expect(snapshot).toMatchObject({
      ref: ticket,
      revision: '1',
      data: {
        subject: 'Where is my order?',
        status: 'new',
        requesterId: world.contact,
        lastAgentReplyAt: null,
      },
    });
    const contact = await connector.read({ system: 'sandbox', type: 'contact', id: world.contact });
    expect(contact?.data).toMatchObject({ email: 'ada@example.com', name: 'Ada' });
    expect(await connector.read({ system: 'sandbox', type: 'ticket', id: '999999' })).toBeNull();
    expect(
      await connector.read({ system: 'sandbox', type: 'invoice', id: world.ticket }),
    ).toBeNull();

    const adaRef = { system: 'sandbox', type: 'contact', id: world.contact };
    expect(await connector.related(ticket)).toEqual([adaRef]);
    expect(await connector.related({ system: 'sandbox', type: 'order', id: world.order })).toEqual([
      adaRef,
    ]);
    expect(await connector.related({ system: 'sandbox', type: 'deal', id: world.deal })).toEqual([
      adaRef,
    ]);
    expect(await connector.related(adaRef)).toEqual([]);
    expect(await connector.related({ system: 'sandbox', type: 'ticket', id: '999999' })).toEqual(
      [],
    );
  });
});
