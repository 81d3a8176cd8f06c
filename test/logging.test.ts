import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logging.js';
import type { Sandbox } from '../src/sandbox/index.js';
import type { Store } from '../src/store/index.js';
import { createTestApp, sha256, type TestApp, testConfig } from './helpers/gateway.js';
import { postAction } from './helpers/propose.js';
import { startSandbox } from './helpers/sandbox.js';
import { useTestStores } from './helpers/stores.js';
import { signStandardWebhook, ticketEventBody } from './helpers/webhooks.js';

const AGENT_KEY = 'ak_logging_test_agent';

/** The JSON lines a logger wrote. */
function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('log lines', () => {
  const stores = useTestStores('sqlite');
  let store: Store;
  let gateway: TestApp;
  let sandbox: Sandbox & { url: string };

  it('carry the ids that tie them to events and actions, with PII censored', async () => {
    sandbox = stores.closedAfter(await startSandbox());
    store = await stores.open();
    const config = testConfig(stores.database.url, {
      log: { level: 'debug' },
      agents: { bot: { keySha256: sha256(AGENT_KEY), operations: [...OPERATION_NAMES] } },
      connectors: { helpdesk: { kind: 'sandbox', url: sandbox.url, timeout: '2s' } },
      sources: {
        demo: {
          scheme: 'standard-webhooks',
          secrets: ['whsec_dGVzdC1zZWNyZXQtZm9yLWFpcmxvY2stdGVzdHM='],
          system: 'helpdesk',
        },
      },
    });
    const { stream, lines } = capture();
    gateway = stores.closedAfter(
      await createTestApp(store, config, { log: createLogger(config.log, stream) }),
    );
    const [ticket] = sandbox.seed({ tickets: [{ subject: 'Where is my order?' }] })
      .tickets as Array<{
      id: string;
      revision: number;
    }>;

    const body = ticketEventBody(ticket?.id as string);
    const received = await gateway.app.inject({
      method: 'POST',
      url: '/hooks/demo',
      headers: signStandardWebhook(body, 'msg_log_1'),
      payload: body,
    });
    const refused = await gateway.app.inject({
      method: 'POST',
      url: '/hooks/demo',
      headers: { ...signStandardWebhook(body, 'msg_log_2'), 'webhook-signature': 'v1,Zm9yZ2Vk' },
      payload: body,
    });
    expect(refused.statusCode).toBe(401);
    const proposal = {
      operation: 'ticket.reply',
      target: { system: 'helpdesk', type: 'ticket', id: ticket?.id },
      params: { body: 'Dear Ada, your card ending 4242 was refunded.' },
      basis: { revision: String(ticket?.revision) },
    };
    const propose = (key: string, revision: string) =>
      postAction(gateway.app, AGENT_KEY, key, { ...proposal, basis: { revision } });
    const executed = await propose('k-log', String(ticket?.revision));
    expect(executed.json().status).toBe('executed');
    expect((await propose('k-log-stale', '0')).statusCode).toBe(409);

    const logged = lines();
    expect(logged).toContainEqual(
      expect.objectContaining({
        msg: 'webhook event stored',
        event_id: received.json().event,
        source: 'demo',
        source_system: 'helpdesk',
        provider_event_id: 'msg_log_1',
        record: `helpdesk:ticket:${ticket?.id}`,
      }),
    );
    expect(logged).toContainEqual(
      expect.objectContaining({
        msg: 'webhook refused',
        source: 'demo',
        reason: 'signature-invalid',
      }),
    );
    expect(logged).toContainEqual(
      expect.objectContaining({
        msg: 'action settled',
        action_id: executed.json().action,
        operation: 'ticket.reply',
        record: `helpdesk:ticket:${ticket?.id}`,
        source_system: 'helpdesk',
        idempotency_key: 'k-log',
        agent: 'bot',
        status: 'executed',
        params: { body: '[redacted]' },
      }),
    );
    expect(logged).toContainEqual(
      expect.objectContaining({
        msg: 'proposal refused',
        operation: 'ticket.reply',
        idempotency_key: 'k-log-stale',
        code: 'stale-basis',
      }),
    );
    // The reply's text is in no line.
    expect(JSON.stringify(logged)).not.toContain('card ending 4242');
  });

  it('refuses a redact path pino cannot use, at start-up with the key', () => {
    expect(() => loadConfig({ env: {}, values: { log: { redact: ['params..body'] } } })).toThrow(
      /log\.redact\.0/,
    );
  });
});
