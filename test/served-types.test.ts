import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandboxConnector, serveTypes } from '../src/connectors/index.js';
import { SANDBOX_TYPES, type Sandbox } from '../src/sandbox/index.js';
import { sha256, useTestGateways } from './helpers/gateway.js';
import { postAction } from './helpers/propose.js';
import { seedWorld, startSandbox, type World, writeRequest } from './helpers/sandbox.js';
import { DEMO_SECRET, signStandardWebhook } from './helpers/webhooks.js';

const AGENT_KEY = 'ak_served_types_agent';

let sandbox: Sandbox & { url: string };
let world: World;

beforeEach(async () => {
  sandbox = await startSandbox();
  world = seedWorld(sandbox);
});
afterEach(() => sandbox.close());

/** One sandbox under two names, each serving its own types, as the embedded config has it. */
function twoNames() {
  const named = (system: string, types: readonly string[]) => ({
    connector: createSandboxConnector({ system, url: sandbox.url, timeoutMs: 2000 }),
    at: `sandbox ${sandbox.url}`,
    types,
  });
  return serveTypes(
    new Map([
      ['helpdesk', named('helpdesk', SANDBOX_TYPES.helpdesk)],
      ['crm', named('crm', SANDBOX_TYPES.crm)],
    ]),
  );
}

describe('connectors that serve record types', () => {
  it('give a record one name: another name refuses it, naming the one that serves it', async () => {
    const connectors = twoNames();
    const helpdesk = connectors.get('helpdesk');
    const crm = connectors.get('crm');
    const contact = { type: 'contact', id: world.contact };
    expect(await crm?.read({ system: 'crm', ...contact })).toMatchObject({
      data: { email: 'ada@example.com' },
    });
    await expect(helpdesk?.read({ system: 'helpdesk', ...contact })).rejects.toMatchObject({
      code: 'invalid-target',
      status: 422,
      message: 'helpdesk does not serve contact records: name them through crm',
    });
    const writes = sandbox.state.writes.length;
    const email = writeRequest('email.send', contact, { subject: 'Hi', body: 'Hello' });
    expect(
      await helpdesk?.execute({ ...email, target: { system: 'helpdesk', ...contact } }),
    ).toMatchObject({ kind: 'permanent', status: 422 });
    expect(sandbox.state.writes.length).toBe(writes);
  });

  it('name a related record by the name that serves its type', async () => {
    const helpdesk = twoNames().get('helpdesk');
    expect(
      await helpdesk?.related({ system: 'helpdesk', type: 'ticket', id: world.ticket }),
    ).toEqual([{ system: 'crm', type: 'contact', id: world.contact }]);
  });

  it('serve every type under a name without types, as before', async () => {
    const only = serveTypes(
      new Map([
        [
          'sandbox',
          {
            connector: createSandboxConnector({ system: 'sandbox', url: sandbox.url }),
            at: `sandbox ${sandbox.url}`,
            types: null,
          },
        ],
      ]),
    ).get('sandbox');
    expect(await only?.read({ system: 'sandbox', type: 'contact', id: world.contact })).not.toBe(
      null,
    );
    expect(await only?.related({ system: 'sandbox', type: 'ticket', id: world.ticket })).toEqual([
      { system: 'sandbox', type: 'contact', id: world.contact },
    ]);
  });

  const start = useTestGateways('sqlite');

  /** A gateway with the two names, a `helpdesk` source, and an agent that leases its events. */
  async function gatewayWithTwoNames() {
    const connector = { kind: 'sandbox', url: sandbox.url, timeout: '2s' };
    const gateway = await start({
      sources: { helpdesk: { scheme: 'standard-webhooks', secrets: [DEMO_SECRET] } },
      agents: {
        bot: {
          keySha256: sha256(AGENT_KEY),
          operations: ['email.send', 'contact.create'],
          deliver: { events: ['*'] },
        },
      },
      connectors: {
        helpdesk: { ...connector, types: SANDBOX_TYPES.helpdesk },
        crm: { ...connector, types: SANDBOX_TYPES.crm },
      },
    });
    /** An event from the helpdesk source about a record of `type`; its id. */
    const event = async (type: string, id: string) => {
      const body = JSON.stringify({ type: `${type}.updated`, data: { type, id } });
      const answer = await gateway.app.inject({
        method: 'POST',
        url: '/hooks/helpdesk',
        headers: signStandardWebhook(body, `msg_${type}_${id}`),
        payload: body,
      });
      expect(answer.statusCode).toBe(202);
      return answer.json().event as string;
    };
    return { gateway, event };
  }

  it('bind a proposal to a record related through the other name', async () => {
    const { gateway, event } = await gatewayWithTwoNames();
    // The ticket's event, read through helpdesk, concerns its requester, whom crm serves.
    const ticketEvent = await event('ticket', world.ticket);
    const contact = await gateway.app.inject({
      method: 'GET',
      url: `/v1/records/crm/contact/${world.contact}`,
      headers: { authorization: `Bearer ${AGENT_KEY}` },
    });
    const proposed = await postAction(gateway.app, AGENT_KEY, 'k-bound', {
      operation: 'email.send',
      target: { system: 'crm', type: 'contact', id: world.contact },
      params: { subject: 'About your ticket', body: 'It ships today.' },
      basis: { revision: contact.json().revision, events: [ticketEvent] },
    });
    expect(proposed.json()).toMatchObject({ status: 'executed' });
  });

  it('hand over an event about a type its name does not serve without the record, saying why', async () => {
    const { gateway, event } = await gatewayWithTwoNames();
    const contactEvent = await event('contact', world.contact);
    await gateway.dispatcher.catchUp();
    const leased = await gateway.app.inject({
      method: 'POST',
      url: '/v1/events/lease',
      headers: { authorization: `Bearer ${AGENT_KEY}` },
      payload: {},
    });
    expect(leased.json().deliveries).toEqual([
      expect.objectContaining({
        events: [expect.objectContaining({ id: contactEvent })],
        context: expect.objectContaining({
          record: null,
          note: 'the record cannot be read: helpdesk does not serve contact records: name them through crm',
        }),
      }),
    ]);
  });

  it('refuse a proposal or a read naming a record through the other name, as 422', async () => {
    const { gateway } = await gatewayWithTwoNames();
    const headers = { authorization: `Bearer ${AGENT_KEY}` };
    const proposed = await postAction(gateway.app, AGENT_KEY, 'k-alias', {
      operation: 'email.send',
      target: { system: 'helpdesk', type: 'contact', id: world.contact },
      params: { subject: 'Hi', body: 'Hello' },
    });
    expect(proposed.statusCode).toBe(422);
    expect(proposed.json()).toMatchObject({
      type: 'urn:airlock:problem:invalid-target',
      system: 'crm',
    });
    const read = await gateway.app.inject({
      method: 'GET',
      url: `/v1/records/helpdesk/contact/${world.contact}`,
      headers,
    });
    expect(read.statusCode).toBe(422);
    // A create reads nothing first: it is refused before it is accepted all the same.
    const created = await postAction(gateway.app, AGENT_KEY, 'k-alias-create', {
      operation: 'contact.create',
      target: { system: 'helpdesk', type: 'contact', id: 'new' },
      params: { email: 'grace@example.com' },
    });
    expect(created.statusCode).toBe(422);
    expect(created.json().type).toBe('urn:airlock:problem:invalid-target');
    expect(await gateway.store.db.selectFrom('actions').select('id').execute()).toEqual([]);
    expect(sandbox.state.writes).toHaveLength(0);
  });
});
