import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Connector, createSandboxConnector } from '../src/connectors/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import { seedWorld, startSandbox, type World, writeRequest } from './helpers/sandbox.js';

let sandbox: Sandbox & { url: string };
let world: World;
/** Gives up after 200 ms, so a held-back answer (`HELD_MS`) times out after the write landed. */
let impatient: Connector;
/** Waits long enough for any answer: reconciles, and writes that are not held back. */
let patient: Connector;
const HELD_MS = 600;

/** A new sandbox with the seeded world, replacing the current one. */
async function fresh(): Promise<void> {
  await sandbox?.close();
  sandbox = await startSandbox();
  world = seedWorld(sandbox);
  impatient = createSandboxConnector({ system: 'sandbox', url: sandbox.url, timeoutMs: 200 });
  patient = createSandboxConnector({ system: 'sandbox', url: sandbox.url, timeoutMs: 5000 });
}

beforeEach(fresh);
afterEach(() => sandbox.close());

/** Each operation, the sandbox API operation its write goes through, and how reconcile finds it. */
function cases() {
  const ticket = { type: 'ticket', id: world.ticket };
  const contact = { type: 'contact', id: world.contact };
  const order = { type: 'order', id: world.order };
  return [
    {
      by: 'comment marker',
      api: 'ticket.update',
      write: writeRequest('ticket.reply', ticket, { body: 'Hi' }, '1'),
    },
    {
      by: 'comment marker',
      api: 'ticket.update',
      write: writeRequest('ticket.add_note', ticket, { body: 'N' }, '1'),
    },
    {
      by: 'state',
      api: 'ticket.update',
      write: writeRequest('ticket.set_status', ticket, { status: 'solved' }, '1'),
    },
    {
      by: 'state',
      api: 'ticket.update',
      write: writeRequest('ticket.assign', ticket, { assignee: 'bo' }, '1'),
    },
    {
      by: 'state',
      api: 'ticket.update',
      write: writeRequest('ticket.tag', ticket, { add: ['vip'] }, '1'),
    },
    {
      by: 'external id',
      api: 'ticket.create',
      write: writeRequest(
        'ticket.create',
        { type: 'ticket', id: 'new' },
        { subject: 'S', body: 'B' },
      ),
    },
    {
      by: 'airlock_key',
      api: 'contact.create',
      write: writeRequest(
        'contact.create',
        { type: 'contact', id: 'new' },
        { email: 'g@example.com' },
      ),
    },
    {
      by: 'state',
      api: 'contact.update',
      write: writeRequest('contact.update', contact, { changes: { name: 'A' } }, '1'),
    },
    {
      by: 'state',
      api: 'deal.update',
      write: writeRequest(
        'deal.set_stage',
        { type: 'deal', id: world.deal },
        { stage: 'closedwon' },
        '1',
      ),
    },
    {
      by: 'airlock_key',
      api: 'note.create',
      write: writeRequest('note.create', contact, { body: 'N' }, '1'),
    },
    {
      by: 'airlock_key',
      api: 'email.create',
      write: writeRequest('email.send', contact, { subject: 'S', body: 'B' }, '1'),
    },
    {
      by: 'state',
      api: 'order.cancel',
      write: writeRequest('order.cancel', order, { reason: 'r' }, '1'),
    },
    {
      by: 'airlock_key',
      api: 'order.discount',
      write: writeRequest('discount.apply', order, { amount: 10, currency: 'EUR' }, '1'),
    },
  ];
}

describe('sandbox connector: ambiguous outcomes and reconcile', () => {
  it('answers ambiguous when the answer comes too late, and reconcile finds the landed write', async () => {
    for (const index of cases().keys()) {
      // Each case on the seeded records as they were: a landed write changes them.
      await fresh();
      const { by, api, write } = cases()[index] as ReturnType<typeof cases>[number];
      const label = `${write.operation} (by ${by})`;
      const writes = sandbox.state.writes.length;
      sandbox.faults.add({ operation: api, delayMs: HELD_MS });

      const outcome = await impatient.execute(write);
      expect(outcome, label).toMatchObject({ kind: 'ambiguous' });
      expect(sandbox.state.writes.length, label).toBe(writes + 1);

      const found = await patient.reconcile(write);
      expect(found.kind, label).toBe('applied');
      if (found.kind !== 'applied') continue;
      const landed = sandbox.state.writes.at(-1);
      expect(landed?.actionId, label).toBe(write.actionId);
      expect(found.effect.ref, label).toEqual({ system: 'sandbox', ...landed?.record });
      expect(found.effect.revision, label).toBe(String(landed?.revision));
      expect(sandbox.state.writes.length, label).toBe(writes + 1);
    }
  });

  it('reconciles a write that failed as not applied, for every operation', async () => {
    for (const { api, write } of cases()) {
      sandbox.faults.add({ operation: api, status: 503 });
      expect(await patient.execute(write), write.operation).toMatchObject({
        kind: 'retry',
        status: 503,
      });
      expect(await patient.reconcile(write), write.operation).toEqual({ kind: 'not_applied' });
    }
    expect(sandbox.state.writes).toHaveLength(0);
  });

  it('has exactly one effect when an ambiguous reply is reconciled before any retry', async () => {
    const write = writeRequest(
      'ticket.reply',
      { type: 'ticket', id: world.ticket },
      { body: 'Hi' },
      '1',
    );
    sandbox.faults.add({ operation: 'ticket.update', delayMs: HELD_MS });
    expect((await impatient.execute(write)).kind).toBe('ambiguous');
    const found = await patient.reconcile(write);
    expect(found.kind).toBe('applied');
    // Had the caller retried blindly, the stale revision would now refuse it, not duplicate it.
    expect((await patient.execute(write)).kind).toBe('conflict');
    const replies = sandbox.state.tickets
      .get(world.ticket)
      ?.comments.filter((c) => c.kind === 'reply');
    expect(replies).toHaveLength(1);
  });

  it('answers unknown when the lookup itself fails', async () => {
    const write = writeRequest(
      'ticket.reply',
      { type: 'ticket', id: world.ticket },
      { body: 'Hi' },
    );
    sandbox.faults.add({ operation: 'ticket.comments', status: 503 });
    expect(await patient.reconcile(write)).toMatchObject({
      kind: 'unknown',
      message: expect.stringMatching(/503/),
      failure: 503,
    });
    const create = writeRequest(
      'contact.create',
      { type: 'contact', id: 'new' },
      { email: 'g@example.com' },
    );
    sandbox.faults.add({ operation: 'contact.read', status: 429 });
    expect(await patient.reconcile(create)).toMatchObject({ kind: 'unknown', failure: 429 });
  });
});
