import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import { assembleGateway, type GatewayModules } from '../src/main.js';
import { createSandbox, type Sandbox } from '../src/sandbox/index.js';
import type { Store } from '../src/store/index.js';
import { createTelemetry, inSpan, type Telemetry } from '../src/telemetry/index.js';
import { sha256, testConfig } from './helpers/gateway.js';
import { postAction, setStatusProposal } from './helpers/propose.js';
import { type Receiver, startReceiver } from './helpers/sandbox.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from './helpers/stores.js';
import { signStandardWebhook, ticketEventBody } from './helpers/webhooks.js';

const AGENT_KEY = 'ak_test_traced_bot';
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${CALLER_SPAN}-01`;

describe.each(BACKENDS)('traces through a gateway on %s', (backend) => {
  let database: TestDatabase | undefined;
  let store: Store | undefined;
  let gateway: GatewayModules | undefined;
  let sandbox: Sandbox | undefined;
  let telemetry: Telemetry | undefined;
  let receiver: Receiver | undefined;
  let exporter: InMemorySpanExporter;
  /** The `traceparent` of each request the sandbox received, by method and path. */
  let seen: { method: string; url: string; traceparent: string | undefined }[];

  afterEach(async () => {
    await gateway?.close();
    await telemetry?.shutdown();
    await store?.close();
    await database?.drop();
    await sandbox?.close();
    await receiver?.close();
    gateway = store = database = sandbox = telemetry = receiver = undefined;
  });

  /** A gateway over a real sandbox, its spans going to an in-memory exporter unless `traced` is false. */
  async function start(options: { traced?: boolean; values?: Record<string, unknown> } = {}) {
    sandbox = createSandbox();
    seen = [];
    // Observes the real sandbox's requests; it records no headers of its own.
    sandbox.app.addHook('onRequest', async (request) => {
      const { traceparent } = request.headers;
      seen.push({
        method: request.method,
        url: request.url,
        traceparent: typeof traceparent === 'string' ? traceparent : undefined,
      });
    });
    const url = await sandbox.listen(0);
    database = createTestDatabase(backend);
    store = await database.open();
    const connector = { kind: 'sandbox', url, timeout: '2s' };
    const config = testConfig(database.url, {
      agents: { 'traced-bot': { keySha256: sha256(AGENT_KEY), operations: [...OPERATION_NAMES] } },
      connectors: { helpdesk: connector },
      actions: { wait: '5s', maxBackoff: '100ms' },
      ...options.values,
    });
    exporter = new InMemorySpanExporter();
    if (options.traced !== false) {
      telemetry = await createTelemetry(
        { serviceName: 'airlock-test', sampleRatio: 1 },
        { exporter },
      );
    }
    gateway = await assembleGateway(config, store, telemetry ? { telemetry } : {});
    await gateway.app.ready();
    const seeded = sandbox.seed({ tickets: [{ subject: 'Where is my order?' }] });
    return seeded.tickets[0] as { id: string; revision: number };
  }

  const spans = (name: string) => exporter.getFinishedSpans().filter((span) => span.name === name);
  const only = (name: string): ReadableSpan => {
    const found = spans(name);
    expect(found, `spans named ${name}`).toHaveLength(1);
    return found[0] as ReadableSpan;
  };
  const childrenOf = (parent: ReadableSpan) =>
    exporter
      .getFinishedSpans()
      .filter((span) => span.parentSpanContext?.spanId === parent.spanContext().spanId);

  function propose(ticket: { id: string; revision: number }, key: string, traceparent?: string) {
    if (!gateway) throw new Error('no gateway started');
    return postAction(
      gateway.app,
      AGENT_KEY,
      key,
      setStatusProposal(ticket, 'pending', ticket.revision),
      traceparent ? { traceparent } : {},
    );
  }

  function deliverWebhook(ticketId: string, eventId: string, traceparent?: string) {
    const body = ticketEventBody(ticketId);
    return gateway?.app.inject({
      method: 'POST',
      url: '/hooks/demo',
      headers: { ...signStandardWebhook(body, eventId), ...(traceparent ? { traceparent } : {}) },
      payload: body,
    });
  }

  it('continues the sender’s trace in webhook.receive, naming the source, event and duplicate', async () => {
    const ticket = await start();
    const first = await deliverWebhook(ticket.id, 'msg_traced_1', TRACEPARENT);
    expect(first?.statusCode).toBe(202);
    const again = await deliverWebhook(ticket.id, 'msg_traced_1');
    expect(again?.statusCode).toBe(200);

    const [received, repeated] = spans('webhook.receive');
    expect(received?.spanContext().traceId).toBe(TRACE_ID);
    expect(received?.parentSpanContext).toMatchObject({ spanId: CALLER_SPAN, isRemote: true });
    expect(received?.kind).toBe(SpanKind.SERVER);
    expect(received?.attributes).toMatchObject({
      'airlock.source': 'demo',
      'airlock.event_id': first?.json().event,
      'airlock.event_ids': [first?.json().event],
      'airlock.duplicate': false,
    });
    // Without a traceparent, a trace of its own.
    expect(repeated?.spanContext().traceId).not.toBe(TRACE_ID);
    expect(repeated?.attributes).toMatchObject({
      'airlock.event_id': first?.json().event,
      'airlock.duplicate': true,
    });
  });

  it('names the refusal of a webhook on its span without failing it', async () => {
    await start();
    const forged = await gateway?.app.inject({
      method: 'POST',
      url: '/hooks/demo',
      headers: { ...signStandardWebhook('{}', 'msg_forged'), traceparent: TRACEPARENT },
      payload: '{"tampered":true}',
    });
    expect(forged?.statusCode).toBe(401);
    const span = only('webhook.receive');
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.attributes['error.type']).toBe('signature-invalid');
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('continues the agent’s trace in action.propose, with the connector calls as its children and the traceparent sent to the system', async () => {
    const ticket = await start();
    const response = await propose(ticket, 'k-traced', TRACEPARENT);
    expect(response?.statusCode).toBe(200);
    const action = response?.json();
    expect(action.status).toBe('executed');

    const proposal = only('action.propose');
    expect(proposal.spanContext().traceId).toBe(TRACE_ID);
    expect(proposal.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(proposal.attributes).toMatchObject({
      'airlock.agent': 'traced-bot',
      'airlock.operation': 'ticket.set_status',
      'airlock.record': `helpdesk:ticket:${ticket.id}`,
      'airlock.idempotency_key': 'k-traced',
      'airlock.action_id': action.action,
      'airlock.outcome': 'executed',
      'airlock.replayed': false,
      'http.response.status_code': 200,
    });

    const calls = childrenOf(proposal);
    expect(calls.every((span) => span.name === 'connector.call')).toBe(true);
    const read = calls.find((span) => span.attributes['airlock.connector.method'] === 'read');
    const write = calls.find((span) => span.attributes['airlock.connector.method'] === 'execute');
    expect(read?.attributes).toMatchObject({
      'airlock.system': 'helpdesk',
      'airlock.record': `helpdesk:ticket:${ticket.id}`,
      'airlock.outcome': 'found',
      'http.response.status_code': 200,
    });
    expect(write?.kind).toBe(SpanKind.CLIENT);
    expect(write?.attributes).toMatchObject({
      'airlock.system': 'helpdesk',
      'airlock.operation': 'ticket.set_status',
      'airlock.action_id': action.action,
      'airlock.outcome': 'applied',
      'http.response.status_code': 200,
    });

    // The sandbox saw each call's own span as the parent of its request.
    const sent = seen.map((request) => request.traceparent);
    expect(sent).toContain(`00-${TRACE_ID}-${read?.spanContext().spanId}-01`);
    expect(sent).toContain(`00-${TRACE_ID}-${write?.spanContext().spanId}-01`);
    const put = seen.find((request) => request.method !== 'GET');
    expect(put?.traceparent).toBe(`00-${TRACE_ID}-${write?.spanContext().spanId}-01`);
  });

  it('marks a replayed proposal and names a refusal', async () => {
    const ticket = await start();
    await propose(ticket, 'k-replay');
    const replay = await propose(ticket, 'k-replay');
    expect(replay?.headers['idempotent-replayed']).toBe('true');
    const stale = await propose({ ...ticket, revision: ticket.revision + 100 }, 'k-stale');
    expect(stale?.statusCode).toBe(409);

    const [first, second, refused] = spans('action.propose');
    expect(first?.attributes['airlock.replayed']).toBe(false);
    expect(second?.attributes).toMatchObject({
      'airlock.replayed': true,
      'airlock.action_id': first?.attributes['airlock.action_id'],
    });
    expect(refused?.attributes).toMatchObject({
      'airlock.outcome': 'stale-basis',
      'error.type': 'stale-basis',
      'http.response.status_code': 409,
    });
    expect(refused?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('gives a worker’s attempt a trace of its own, action.execute, naming the action', async () => {
    const ticket = await start();
    // The proposal's own attempt meets a 503; the worker's retry applies it.
    sandbox?.faults.add({
      operation: 'ticket.update',
      times: 1,
      status: 503,
      retryAfterSeconds: 0,
    });
    const response = await propose(ticket, 'k-worker', TRACEPARENT);
    expect(response?.json()).toMatchObject({ status: 'executed', attempts: 2 });
    const actionId = response?.json().action;

    const proposal = only('action.propose');
    const failed = childrenOf(proposal).find(
      (span) => span.attributes['airlock.connector.method'] === 'execute',
    );
    expect(failed?.attributes).toMatchObject({
      'airlock.outcome': 'retry',
      'http.response.status_code': 503,
    });
    expect(failed?.status.code).toBe(SpanStatusCode.ERROR);

    const attempt = only('action.execute');
    expect(attempt.parentSpanContext).toBeUndefined();
    expect(attempt.spanContext().traceId).not.toBe(TRACE_ID);
    expect(attempt.attributes).toMatchObject({
      'airlock.action_id': actionId,
      'airlock.operation': 'ticket.set_status',
      'airlock.attempt': 2,
      'airlock.outcome': 'executed',
    });
    const retried = childrenOf(attempt).find(
      (span) => span.attributes['airlock.connector.method'] === 'execute',
    );
    expect(retried?.attributes).toMatchObject({
      'airlock.outcome': 'applied',
      'http.response.status_code': 200,
    });
  });

  it('sends the system no trace context when tracing is off', async () => {
    const ticket = await start({ traced: false });
    const response = await propose(ticket, 'k-untraced', TRACEPARENT);
    expect(response?.statusCode).toBe(200);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((request) => request.traceparent === undefined)).toBe(true);
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('exports over OTLP/HTTP to otlpUrl, flushed when the gateway closes', async () => {
    receiver = await startReceiver({ answer: () => 200 });
    const ticket = await start({ traced: false, values: { telemetry: { otlpUrl: receiver.url } } });
    expect((await deliverWebhook(ticket.id, 'msg_exported', TRACEPARENT))?.statusCode).toBe(202);
    expect(receiver.received).toHaveLength(0);

    await gateway?.close();
    gateway = undefined;
    const posts = receiver.received.filter(
      (request) => request.method === 'POST' && new URL(request.url).pathname === '/v1/traces',
    );
    expect(posts).toHaveLength(1);
    const exported = posts[0]?.body.toString('utf8') ?? '';
    expect(exported).toContain('"webhook.receive"');
    expect(exported).toContain(TRACE_ID);
  });
});

describe('OTLP export failures', () => {
  let receiver: Receiver | undefined;
  let telemetry: Telemetry | undefined;

  afterEach(async () => {
    await telemetry?.shutdown();
    await receiver?.close();
  });

  it('are reported when exports start failing, not for every batch', async () => {
    // The collector refuses the first two exports, takes the third, refuses the fourth.
    receiver = await startReceiver({ answer: (index) => (index === 2 ? 200 : 400) });
    const errors: unknown[] = [];
    telemetry = await createTelemetry(
      { otlpUrl: receiver.url, serviceName: 'airlock-test', sampleRatio: 1 },
      { onExportError: (error) => errors.push(error) },
    );
    for (let batch = 0; batch < 4; batch += 1) {
      await inSpan(telemetry, `span-${batch}`, {}, async () => {});
      await telemetry.forceFlush();
    }
    expect(receiver.received).toHaveLength(4);
    expect(errors).toHaveLength(2);

    // Closing with a refused last batch neither fails nor reports again: still failing.
    await inSpan(telemetry, 'last', {}, async () => {});
    await expect(telemetry.shutdown()).resolves.toBeUndefined();
    telemetry = undefined;
    expect(receiver.received).toHaveLength(5);
    expect(errors).toHaveLength(2);
  });
});
