import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { type CallToolResult, ErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { SANDBOX_TYPES } from '../src/sandbox/index.js';
import type { Store } from '../src/store/index.js';
import { createTestApp, sha256, type TestApp, testConfig } from './helpers/gateway.js';
import { writeConfig } from './helpers/gateway-process.js';
import { call, startSandbox } from './helpers/sandbox.js';
import { BACKENDS, useTestStores } from './helpers/stores.js';
import { ROOT, runCli } from './helpers/subprocess.js';

const AGENT_KEY = 'ak_test_mcp_agent';
const OPERATIONS = ['ticket.reply', 'ticket.set_status', 'ticket.add_note', 'order.cancel'];

type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

describe.each(BACKENDS)('MCP on %s', (backend) => {
  const stores = useTestStores(backend);
  let store: Store;
  let gateway: TestApp;
  let sandbox: Sandbox;

  /** A gateway listening on loopback over the real sandbox, and an MCP client of it. */
  async function start() {
    sandbox = stores.closedAfter(await startSandbox());
    store = await stores.open();
    const connector = { kind: 'sandbox', url: sandbox.url, timeout: '2s' };
    gateway = stores.closedAfter(
      await createTestApp(
        store,
        testConfig(stores.database.url, {
          agents: { 'mcp-bot': { keySha256: sha256(AGENT_KEY), operations: OPERATIONS } },
          connectors: {
            helpdesk: { ...connector, types: SANDBOX_TYPES.helpdesk },
            crm: { ...connector, types: SANDBOX_TYPES.crm },
          },
          actions: { wait: '3s' },
        }),
      ),
    );
    await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;
    const seeded = sandbox.seed({
      tickets: [{ subject: 'Where is my order?' }],
      orders: [{ currency: 'EUR', subtotal: 120 }],
    });
    return {
      url,
      ticket: seeded.tickets[0] as { id: string; revision: number },
      order: seeded.orders[0] as { id: string; revision: number },
    };
  }

  async function connect(url: string): Promise<Client> {
    const connected = new Client({ name: 'airlock-test', version: '1.0.0' });
    await connected.connect(
      new StreamableHTTPClientTransport(new URL('/mcp', url), {
        requestInit: { headers: { authorization: `Bearer ${AGENT_KEY}` } },
      }),
    );
    return stores.closedAfter(connected);
  }

  /** The sandbox's writes to one record. */
  async function writesTo(id: string) {
    const answer = await call(sandbox.url, 'GET', '/_writes');
    return (answer.body.writes as Array<{ record: { id: string } }>).filter(
      (write) => write.record.id === id,
    );
  }

  const ticketRef = (id: string) => ({ system: 'helpdesk', type: 'ticket', id });
  // biome-ignore lint/suspicious/noExplicitAny: tests read structured content loosely.
  const structured = (result: unknown) => (result as CallToolResult).structuredContent as any;

  it("lists exactly the agent's operations as tools, with annotations", async () => {
    const { url } = await start();
    const mcp = await connect(url);
    const { tools } = await mcp.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(
      OPERATIONS.map((operation) => operation.replace('.', '_')).sort(),
    );
    const reply = tools.find((tool) => tool.name === 'ticket_reply');
    expect(reply?.annotations).toMatchObject({
      destructiveHint: true,
      readOnlyHint: false,
      idempotentHint: true,
      openWorldHint: true,
    });
    expect(reply?.inputSchema.required).toEqual(['target', 'params']);
    expect(reply?.description).toContain('Not reversible');
    const setStatus = tools.find((tool) => tool.name === 'ticket_set_status');
    expect(setStatus?.annotations?.destructiveHint).toBe(false);
    expect(tools.find((tool) => tool.name === 'order_cancel')?.annotations?.destructiveHint).toBe(
      true,
    );
  });

  it('executes a call, refuses a stale basis with what changed, holds a high-risk one', async () => {
    const { url, ticket, order } = await start();
    const mcp = await connect(url);
    const executed = await mcp.callTool({
      name: 'ticket_set_status',
      arguments: {
        target: ticketRef(ticket.id),
        params: { status: 'pending' },
        basis: { revision: String(ticket.revision) },
        decision: { model: 'test-model', summary: 'waiting for the customer' },
      },
    });
    expect(executed.isError).toBeFalsy();
    expect(structured(executed)).toMatchObject({
      outcome: 'executed',
      action: { status: 'executed', operation: 'ticket.set_status' },
    });
    const now = await call(sandbox.url, 'GET', `/api/tickets/${ticket.id}`);
    expect(now.body.ticket.status).toBe('pending');

    // The same revision again: the ticket moved on with the write above.
    const stale = await mcp.callTool({
      name: 'ticket_reply',
      arguments: {
        target: ticketRef(ticket.id),
        params: { body: 'It ships today.' },
        basis: { revision: String(ticket.revision) },
      },
    });
    expect(stale.isError).toBe(true);
    expect(structured(stale)).toMatchObject({
      outcome: 'refused',
      problem: {
        type: 'urn:airlock:problem:stale-basis',
        basisRevision: String(ticket.revision),
        currentRevision: String(now.body.ticket.revision),
        current: { status: 'pending' },
      },
    });
    expect((stale.content as Array<{ text: string }>)[0]?.text).toContain('stale-basis');
    expect(await writesTo(ticket.id)).toHaveLength(1);

    const cancel = await mcp.callTool({
      name: 'order_cancel',
      arguments: {
        target: { system: 'crm', type: 'order', id: order.id },
        params: { reason: 'customer asked' },
        basis: { revision: String(order.revision) },
      },
    });
    expect(cancel.isError).toBeFalsy();
    const held = structured(cancel);
    expect(held).toMatchObject({
      outcome: 'pending_approval',
      approval: expect.stringMatching(/^apr_/),
    });
    expect(held.approval).toBe(held.action.approval);
    expect(await writesTo(order.id)).toHaveLength(0);

    // Invalid params never reach the gateway's write path either.
    const invalid = await mcp.callTool({
      name: 'ticket_set_status',
      arguments: { target: ticketRef(ticket.id), params: { status: 'vanished' } },
    });
    expect(invalid.isError).toBe(true);
  });

  it('writes once for a call repeated without a key, and reads a record as a resource', async () => {
    const { url, ticket } = await start();
    const mcp = await connect(url);
    const note = {
      name: 'ticket_add_note',
      arguments: {
        target: ticketRef(ticket.id),
        params: { body: 'Customer called about the delay.' },
        basis: { revision: String(ticket.revision) },
      },
    };
    const first = structured(await mcp.callTool(note));
    const second = structured(await mcp.callTool(note));
    expect(first.outcome).toBe('executed');
    expect(second).toMatchObject({ outcome: 'executed', action: { action: first.action.action } });
    expect(second.idempotencyKey).toBe(first.idempotencyKey);
    expect(first.idempotencyKey).toMatch(/^airlock-[0-9a-f]{64}$/);
    expect(await writesTo(ticket.id)).toHaveLength(1);

    const { resourceTemplates } = await mcp.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual([
      'airlock://records/{system}/{type}/{id}',
    ]);
    const read = await mcp.readResource({ uri: `airlock://records/helpdesk/ticket/${ticket.id}` });
    const content = read.contents[0] as { text: string; mimeType: string };
    expect(content.mimeType).toBe('application/json');
    const now = await call(sandbox.url, 'GET', `/api/tickets/${ticket.id}`);
    expect(JSON.parse(content.text)).toMatchObject({
      record: ticketRef(ticket.id),
      revision: String(now.body.ticket.revision),
      fields: { subject: 'Where is my order?' },
    });
    // A record that is not there, or that its system does not serve, is the client's mistake:
    // not an internal error (-32603), as it was.
    await expect(
      mcp.readResource({ uri: 'airlock://records/helpdesk/ticket/99999' }),
    ).rejects.toMatchObject({ code: -32002 });
    await expect(
      mcp.readResource({ uri: 'airlock://records/helpdesk/order/1' }),
    ).rejects.toMatchObject({ code: ErrorCode.InvalidParams });
  });

  it('answers a bad key with 401 before any MCP handling', async () => {
    const { url } = await start();
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'x', version: '1' },
      },
    };
    const headers = { accept: 'application/json, text/event-stream' };
    const bad = await call(url, 'POST', '/mcp', initialize, {
      ...headers,
      authorization: 'Bearer not-a-key',
    });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(bad.body.type).toBe('urn:airlock:problem:unauthorized');
    const missing = await call(url, 'POST', '/mcp', initialize, headers);
    expect(missing.status).toBe(401);
    const good = await call(url, 'POST', '/mcp', initialize, {
      ...headers,
      authorization: `Bearer ${AGENT_KEY}`,
    });
    expect(good.status).toBe(200);
    expect(good.body.result.serverInfo.name).toBe('airlock');
    // Stateless: no stream of the server's own.
    const stream = await call(url, 'GET', '/mcp', undefined, {
      accept: 'text/event-stream',
      authorization: `Bearer ${AGENT_KEY}`,
    });
    expect(stream.status).toBe(405);
  });

  it('serves the agent over stdio with `airlock mcp`, proposing to the gateway', async () => {
    const { url, ticket } = await start();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['dist/cli/main.js', 'mcp', '--url', url, '--key', 'env:AIRLOCK_TEST_AGENT_KEY'],
      cwd: ROOT,
      env: { ...(process.env as Record<string, string>), AIRLOCK_TEST_AGENT_KEY: AGENT_KEY },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const stdio = stores.closedAfter(new Client({ name: 'airlock-test', version: '1.0.0' }));
    await stdio.connect(transport).catch(async (error: unknown) => {
      // Its stderr is piped through: let the last of it arrive.
      await new Promise((resolve) => setTimeout(resolve, 200));
      throw new Error(`airlock mcp did not start: ${String(error)}\n${stderr}`);
    });
    const { tools } = await stdio.listTools();
    expect(tools).toHaveLength(OPERATIONS.length);
    const replied = await stdio.callTool({
      name: 'ticket_reply',
      arguments: {
        target: ticketRef(ticket.id),
        params: { body: 'It ships today.' },
        basis: { revision: String(ticket.revision) },
      },
    });
    expect(replied.isError, JSON.stringify(replied)).toBeFalsy();
    expect(structured(replied)).toMatchObject({
      outcome: 'executed',
      action: { operation: 'ticket.reply', status: 'executed' },
    });
    expect(await writesTo(ticket.id)).toHaveLength(1);
    expect(stderr).toContain('airlock mcp: agent mcp-bot');

    const refused = await runCli(['mcp', '--url', url, '--key', 'not-a-key']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('does not know this agent key');
    expect(refused.stdout).toBe('');

    // Without --url, the gateway's address comes from its config: reached, and it refuses the key.
    // The gateway's secrets are not read: their variables need not be set where an agent runs.
    const port = Number(new URL(url).port);
    const configFile = writeConfig(mkdtempSync(join(tmpdir(), 'airlock-mcp-')), {
      server: { host: '127.0.0.1', port },
      sources: { hd: { scheme: 'zendesk', secrets: ['env:AIRLOCK_TEST_SECRET_NOT_SET'] } },
    });
    const viaConfig = await runCli(['mcp', '--key', 'not-a-key', '--config', configFile]);
    expect(viaConfig.code).toBe(1);
    expect(viaConfig.stderr).toContain('does not know this agent key');
    const nowhere = await runCli(['mcp', '--key', 'not-a-key'], { AIRLOCK_CONFIG: '' });
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain("give the gateway's --url, or its --config");
  });
});
