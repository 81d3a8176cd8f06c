import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import { SANDBOX_TYPES } from '../src/sandbox/index.js';
import { openStore, type Store } from '../src/store/index.js';
import { traceOf } from '../src/trace/index.js';
import {
  ADMIN_TOKEN,
  APPROVER_TOKEN,
  createTestApp,
  sha256,
  type TestApp,
  testConfig,
} from './helpers/gateway.js';
import { writeConfig } from './helpers/gateway-process.js';
import { postAction, setStatusProposal } from './helpers/propose.js';
import { call, startSandbox } from './helpers/sandbox.js';
import { BACKENDS, useTestStores } from './helpers/stores.js';
import { runCli } from './helpers/subprocess.js';

const AGENT_KEY = 'ak_undo_test_agent';
const SECOND_ADMIN_TOKEN = 'test-second-admin-token';

describe.each(BACKENDS)('undo on %s', (backend) => {
  const stores = useTestStores(backend);
  let store: Store;
  let gateway: TestApp;
  let sandbox: Sandbox & { url: string };

  async function start() {
    sandbox = stores.closedAfter(await startSandbox());
    store = await stores.open();
    const connector = { kind: 'sandbox', url: sandbox.url, timeout: '2s' };
    gateway = stores.closedAfter(
      await createTestApp(
        store,
        testConfig(stores.database.url, {
          operators: {
            root: { role: 'admin', tokenSha256: sha256(ADMIN_TOKEN) },
            ana: { role: 'approver', tokenSha256: sha256(APPROVER_TOKEN) },
            kim: { role: 'admin', tokenSha256: sha256(SECOND_ADMIN_TOKEN) },
          },
          agents: { bot: { keySha256: sha256(AGENT_KEY), operations: [...OPERATION_NAMES] } },
          connectors: {
            helpdesk: { ...connector, types: SANDBOX_TYPES.helpdesk },
            crm: { ...connector, timeout: '500ms', types: SANDBOX_TYPES.crm },
          },
          actions: { wait: '2s' },
        }),
      ),
    );
    const [ticket] = sandbox.seed({ tickets: [{ subject: 'Refund please', status: 'open' }] })
      .tickets as Array<{ id: string; revision: number }>;
    return ticket as { id: string; revision: number };
  }

  /** A proposal by the agent under `key`, as `POST /v1/actions` takes it. */
  const propose = (key: string, payload: Record<string, unknown>) =>
    postAction(gateway.app, AGENT_KEY, key, payload);

  async function setPending(ticket: { id: string; revision: number }) {
    const response = await propose(
      'k-pending',
      setStatusProposal(ticket, 'pending', ticket.revision),
    );
    expect(response.json()).toMatchObject({ status: 'executed' });
    return response.json().action as string;
  }

  const undo = (id: string, token = ADMIN_TOKEN) =>
    gateway.app.inject({
      method: 'POST',
      url: `/v1/actions/${id}/undo`,
      headers: { authorization: `Bearer ${token}` },
    });
  const status = async (id: string) =>
    (await call(sandbox.url, 'GET', `/api/tickets/${id}`)).body.ticket.status as string;
  const writes = async () => (await call(sandbox.url, 'GET', '/_writes')).body.writes as unknown[];

  it('puts the record back through the pipeline, once, linked to the original in the trace', async () => {
    const ticket = await start();
    const original = await setPending(ticket);
    expect(await status(ticket.id)).toBe('pending');

    // Only admins undo.
    expect((await undo(original, APPROVER_TOKEN)).statusCode).toBe(403);
    const undone = await undo(original);
    expect(undone.statusCode).toBe(200);
    expect(undone.json()).toMatchObject({
      status: 'executed',
      operation: 'ticket.set_status',
      params: { status: 'open' },
    });
    expect(await status(ticket.id)).toBe('open');

    // Asking again replays the first undo, whoever asks: nothing is written twice.
    for (const token of [ADMIN_TOKEN, SECOND_ADMIN_TOKEN]) {
      const again = await undo(original, token);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json().action).toBe(undone.json().action);
    }
    expect(await writes()).toHaveLength(2);

    const trace = await traceOf(store, original);
    expect(trace.actions.map((action) => action.id)).toEqual([original, undone.json().action]);

    // An agent naming that action in its own decision links nothing: only undos are links.
    const note = await propose('k-forged-link', {
      operation: 'ticket.add_note',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { body: 'unrelated' },
      basis: { revision: undone.json().effect.revision },
      decision: { model: 'm', summary: 's', context: { undoOf: original } },
    });
    expect(note.json()).toMatchObject({ status: 'executed' });
    const noteTrace = await traceOf(store, note.json().action);
    expect(noteTrace.actions.map((action) => action.id)).toEqual([note.json().action]);
  });

  it('undoes once when two admins ask at the same moment, neither refused as a key reuse', async () => {
    const ticket = await start();
    const original = await setPending(ticket);
    for (let round = 0; round < 3; round += 1) {
      const answers = await Promise.all([
        undo(original, ADMIN_TOKEN),
        undo(original, SECOND_ADMIN_TOKEN),
      ]);
      for (const answer of answers) {
        // The one that lost the race gets the first undo, or is told it is under way.
        expect([200, 409], answer.body).toContain(answer.statusCode);
        if (answer.statusCode === 409) {
          expect(answer.json().type).toBe('urn:airlock:problem:idempotency-in-flight');
        }
      }
      const done = answers.filter((answer) => answer.statusCode === 200);
      expect(new Set(done.map((answer) => answer.json().action)).size).toBe(1);
    }
    expect(await writes()).toHaveLength(2);
  });

  it('refuses to undo a write whose state before is unknown, rather than clear fields', async () => {
    await start();
    const [contact] = sandbox.seed({ contacts: [{ properties: { email: 'ada@example.com' } }] })
      .contacts as Array<{ id: string; revision: number }>;
    const setCompany = (company: string, revision: string) =>
      propose(`k-${company}`, {
        operation: 'contact.update',
        target: { system: 'crm', type: 'contact', id: contact?.id },
        params: { changes: { company } },
        basis: { revision },
      });
    const acme = await setCompany('Acme', String(contact?.revision));
    expect(acme.json()).toMatchObject({
      status: 'executed',
      effect: { before: { company: null } },
    });
    // The sandbox applies the next update, then answers after the connector's 500 ms: the write
    // is found by reconcile, which sees the contact only as the write left it.
    await call(sandbox.url, 'POST', '/_faults', {
      operation: 'contact.update',
      times: 1,
      delayMs: 1500,
    });
    const beta = await setCompany('Beta', acme.json().effect.revision);
    expect(beta.json()).toMatchObject({
      status: 'executed',
      effect: { before: null, after: { company: 'Beta' } },
    });

    const refused = await undo(beta.json().action);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      type: 'urn:airlock:problem:not-undoable',
      detail: expect.stringContaining('the state before it is unknown'),
    });
    const now = await call(sandbox.url, 'GET', `/crm/v3/objects/contacts/${contact?.id}`);
    expect(now.body.properties.company).toBe('Beta');
  });

  it('puts back only what a write changed, and refuses one that changed nothing or cannot be put back', async () => {
    await start();
    const seeded = sandbox.seed({
      tickets: [{ subject: 'Tagged', status: 'open', tags: ['vip'] }],
      deals: [{ properties: { dealname: 'No stage yet' } }],
    });
    const ticket = seeded.tickets[0] as { id: string; revision: number };
    const deal = seeded.deals[0] as { id: string; revision: number };
    let revision = String(ticket.revision);
    const onTicket = async (key: string, operation: string, params: Record<string, unknown>) => {
      const response = await propose(key, {
        operation,
        target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
        params,
        basis: { revision },
      });
      expect(response.json(), key).toMatchObject({ status: 'executed' });
      revision = response.json().effect.revision;
      return response.json().action as string;
    };
    const ticketNow = async () =>
      (await call(sandbox.url, 'GET', `/api/tickets/${ticket.id}`)).body.ticket;

    // 'vip' was there before: undoing takes away only the tag the write added.
    const tagged = await onTicket('k-tag', 'ticket.tag', { add: ['vip', 'urgent'] });
    const untagged = await undo(tagged);
    expect(untagged.json()).toMatchObject({
      status: 'executed',
      params: { add: [], remove: ['urgent'] },
    });
    revision = untagged.json().effect.revision;
    expect((await ticketNow()).tags).toEqual(['vip']);
    // A write that changed nothing has nothing to undo; it used to remove 'vip'.
    const again = await onTicket('k-tag-again', 'ticket.tag', { add: ['vip'] });
    const nothing = await undo(again);
    expect(nothing.statusCode).toBe(409);
    expect(nothing.json()).toMatchObject({
      type: 'urn:airlock:problem:not-undoable',
      detail: expect.stringContaining('it changed nothing'),
    });
    expect((await ticketNow()).tags).toEqual(['vip']);

    // A ticket nobody had goes back to nobody (the inverse was refused as invalid params).
    const assigned = await onTicket('k-assign', 'ticket.assign', { assignee: 'alice' });
    const unassigned = await undo(assigned);
    expect(unassigned.json()).toMatchObject({ status: 'executed', params: { assignee: null } });
    expect((await ticketNow()).assignee).toBeNull();

    // A deal had no stage, and a stage cannot be set to none: refused as not undoable, not
    // proposed and kept as an invalid-params answer.
    const staged = await propose('k-stage', {
      operation: 'deal.set_stage',
      target: { system: 'crm', type: 'deal', id: deal.id },
      params: { stage: 'qualifiedtobuy' },
      basis: { revision: String(deal.revision) },
    });
    expect(staged.json()).toMatchObject({
      status: 'executed',
      effect: { before: { stage: null } },
    });
    const refused = await undo(staged.json().action);
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({
      type: 'urn:airlock:problem:not-undoable',
      detail: expect.stringContaining('deal.set_stage cannot put back the state before it'),
    });
  });

  it('refuses to undo over a change made since, and refuses what cannot be undone', async () => {
    const ticket = await start();
    const original = await setPending(ticket);
    // A human moves the ticket on in the helpdesk.
    const moved = await call(sandbox.url, 'PUT', `/api/tickets/${ticket.id}`, { status: 'hold' });
    expect(moved.status).toBe(200);
    const refused = await undo(original);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().type).toBe('urn:airlock:problem:stale-basis');
    expect(await status(ticket.id)).toBe('hold');
    // Another admin asking is refused the same way, not as a key reuse (a stale refusal is not
    // kept under the key: it is checked again, and the record is still past the undo's basis).
    const again = await undo(original, SECOND_ADMIN_TOKEN);
    expect(again.statusCode).toBe(409);
    expect(again.json().type).toBe('urn:airlock:problem:stale-basis');

    const reply = await propose('k-reply', {
      operation: 'ticket.reply',
      target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
      params: { body: 'On it.' },
      basis: { revision: String(moved.body.ticket.revision) },
    });
    const notUndoable = await undo(reply.json().action);
    expect(notUndoable.statusCode).toBe(409);
    expect(notUndoable.json().type).toBe('urn:airlock:problem:not-undoable');
    expect((await undo('act_unknown')).statusCode).toBe(404);
  });
});

describe('airlock actions undo', () => {
  it('undoes an action from the command line, and exits 1 when it cannot', async () => {
    const sandbox = await startSandbox();
    const dir = mkdtempSync(join(tmpdir(), 'airlock-undo-cli-'));
    const values = {
      store: { url: `sqlite:${join(dir, 'airlock.db')}` },
      // What the gateway logs goes to stderr: stdout stays the answer's JSON.
      log: { level: 'info' },
      agents: { bot: { keySha256: sha256(AGENT_KEY), operations: [...OPERATION_NAMES] } },
      connectors: { helpdesk: { kind: 'sandbox', url: sandbox.url, timeout: '2s' } },
    };
    const configFile = writeConfig(dir, values);
    const store = await openStore(values.store.url);
    const gateway = await createTestApp(store, testConfig(values.store.url, values));
    try {
      const [ticket] = sandbox.seed({ tickets: [{ subject: 'Refund please', status: 'open' }] })
        .tickets as Array<{ id: string; revision: number }>;
      const setStatus = (key: string, status: string, revision: string) =>
        postAction(gateway.app, AGENT_KEY, key, {
          operation: 'ticket.set_status',
          target: { system: 'helpdesk', type: 'ticket', id: ticket?.id },
          params: { status },
          basis: { revision },
        });
      const proposed = await setStatus('k-cli', 'solved', String(ticket?.revision));
      const id = proposed.json().action as string;
      const undone = await runCli(['actions', 'undo', id, '--config', configFile, '--as', 'ops']);
      expect(undone.code).toBe(0);
      expect(JSON.parse(undone.stdout)).toMatchObject({
        status: 'executed',
        params: { status: 'open' },
      });
      const ticketNow = await call(sandbox.url, 'GET', `/api/tickets/${ticket?.id}`);
      expect(ticketNow.body.ticket.status).toBe('open');

      const missing = await runCli(['actions', 'undo', 'act_missing', '--config', configFile]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('action-not-found');

      // A closed ticket stays closed: the undo is answered, its write fails, and that is exit 1.
      const closed = await setStatus(
        'k-cli-close',
        'closed',
        ticketNow.body.ticket.revision.toString(),
      );
      expect(closed.json()).toMatchObject({ status: 'executed' });
      const failed = await runCli([
        'actions',
        'undo',
        closed.json().action,
        '--config',
        configFile,
      ]);
      expect(JSON.parse(failed.stdout)).toMatchObject({ status: 'failed' });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(
        /airlock: undo-failed: the undo act_\w+ of act_\w+ ended failed: /,
      );
    } finally {
      await gateway.close();
      await store.close();
      await sandbox.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
