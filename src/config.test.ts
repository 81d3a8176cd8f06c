import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from './actions/index.js';
import { loadConfig } from './config.js';
import { AppError } from './errors.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('config-invalid');
    return (error as AppError).details.problems as string[];
  }
  throw new Error('expected the config to be refused');
}

describe('loadConfig', () => {
  it('reads server.trustProxy as true, or proxy addresses as a list or one string', () => {
    const trust = (value: unknown) =>
      loadConfig({ env: {}, values: { server: { trustProxy: value } } }).server.trustProxy;
    expect(trust(true)).toBe(true);
    expect(trust('10.0.0.1, loopback')).toEqual(['10.0.0.1', 'loopback']);
    expect(trust(['10.0.0.0/8', '::1', 'fd00::/8'])).toEqual(['10.0.0.0/8', '::1', 'fd00::/8']);
  });

  it('fills every default when nothing is given', () => {
    const config = loadConfig({ env: {} });
    expect(config.server).toEqual({
      host: '127.0.0.1',
      port: 8080,
      trustProxy: false,
      requestTimeout: 30_000,
    });
    expect(config.store.url).toBe('sqlite:./data/airlock.db');
    expect(config.retention).toEqual({
      events: 7 * 86_400_000,
      idempotencyKeys: 86_400_000,
      pruneInterval: 3_600_000,
    });
    expect(config.ingest.bodyLimit).toBe(1024 * 1024);
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it.each([
    [{ server: { port: 'eighty' } }, 'server.port'],
    [{ server: { prot: 8080 } }, 'server'],
    [{ server: { requestTimeout: 0 } }, 'server.requestTimeout'],
    [{ server: { requestTimeout: '1ms' } }, 'server.requestTimeout'],
    [{ server: { trustProxy: 1 } }, 'server.trustProxy'],
    [{ server: { trustProxy: ['10.0.0.1', 'nonsense'] } }, 'server.trustProxy.1'],
    [{ server: { trustProxy: '10.0.0.0/33' } }, 'server.trustProxy.0'],
    // Each became port 0, any free one; `true` became port 1.
    [{ server: { port: '' } }, 'server.port'],
    [{ server: { port: null } }, 'server.port'],
    [{ server: { port: true } }, 'server.port'],
    [{ server: { port: [] } }, 'server.port'],
    [{ sandbox: { port: ' ' } }, 'sandbox.port'],
    [{ retention: { events: 'a week' } }, 'retention.events'],
    // Pruned the whole inbox, undelivered events too, within a second of start.
    [{ retention: { events: 0 } }, 'retention.events'],
    [{ retention: { idempotencyKeys: '5m' } }, 'retention.idempotencyKeys'],
    // Past 2^31 - 1 ms a timer fires after 1 ms: pruning in a busy loop.
    [{ retention: { pruneInterval: '30d' } }, 'retention.pruneInterval'],
    [{ retention: { pruneInterval: 0 } }, 'retention.pruneInterval'],
    [{ actions: { wait: '25d' } }, 'actions.wait'],
    [{ delivery: { poll: 0 } }, 'delivery.poll'],
    [
      {
        rateLimits: [
          { name: 'mail', operations: ['email.send'], per: 'record', max: 1, window: '1d' },
          { name: 'mail', operations: ['ticket.reply'], per: 'agent', max: 9, window: '1h' },
        ],
      },
      'rateLimits.1.name',
    ],
    // A temporary database, deleted on close: an agent added there was lost.
    [{ store: { url: 'sqlite:' } }, 'store.url'],
    [{ store: { url: 'sqlite::memory:' } }, 'store.url'],
    [
      { connectors: { helpdesk: { kind: 'sandbox', url: 'ftp://127.0.0.1/' } } },
      'connectors.helpdesk.url',
    ],
    [{ approvals: { publicUrl: 'javascript:alert(1)' } }, 'approvals.publicUrl'],
    [
      {
        connectors: {
          helpdesk: {
            kind: 'sandbox',
            url: 'http://127.0.0.1/',
            timeout: '30s',
            lateWriteWindow: '10s',
          },
        },
      },
      'connectors.helpdesk.lateWriteWindow',
    ],
    [
      { approvals: { notify: { url: 'file:///etc/passwd', secret: SECRET } } },
      'approvals.notify.url',
    ],
    [
      {
        agents: {
          one: { keySha256: 'a'.repeat(64), operations: ['ticket.tag'] },
          two: { keySha256: 'A'.repeat(64), operations: ['order.cancel'] },
        },
      },
      'agents.two.keySha256',
    ],
    [{ ingest: { bodyLimit: '1 gallon' } }, 'ingest.bodyLimit'],
    [{ store: { url: 'mysql://x' } }, 'store.url'],
    [{ sources: { demo: { scheme: 'smoke-signals', secrets: [SECRET] } } }, 'sources.demo.scheme'],
    [{ sources: { demo: { scheme: 'github', secrets: [] } } }, 'sources.demo.secrets'],
    [
      { sources: { demo: { scheme: 'standard-webhooks', secrets: ['whsec_'] } } },
      'sources.demo.secrets.0',
    ],
    [{ sources: { demo: { scheme: 'hmac-sha256', secrets: ['s'] } } }, 'sources.demo'],
    [{ sources: { 'Bad Name': { scheme: 'github', secrets: ['s'] } } }, 'sources'],
    [
      { agents: { 'airlock-undo': { keySha256: 'a'.repeat(64), operations: ['ticket.tag'] } } },
      'agents',
    ],
    [{ operators: { ann: { role: 'king', tokenSha256: 'a'.repeat(64) } } }, 'operators.ann.role'],
    [
      { operators: { ann: { role: 'viewer', tokenSha256: 'not-hex' } } },
      'operators.ann.tokenSha256',
    ],
  ])('refuses %j naming %s', (values, key) => {
    const problems = problemsOf(() => loadConfig({ env: {}, values }));
    expect(
      problems.some((problem) => problem.startsWith(`${key}:`) || problem.startsWith(`${key}.`)),
    ).toBe(true);
  });

  it.each(['abc', '80x', true, 70_000, 1.5, ''])('says what a port is when given %j', (port) => {
    // It said "Invalid input".
    expect(problemsOf(() => loadConfig({ env: {}, values: { server: { port } } }))).toEqual([
      'server.port: expected a port number from 0 to 65535',
    ]);
  });

  it('waits for a late write 60 s after sending, or the timeout when that is longer', () => {
    const connectors = loadConfig({
      env: {},
      values: {
        connectors: {
          quick: { kind: 'sandbox', url: 'http://127.0.0.1:1/', types: ['ticket'] },
          slow: { kind: 'sandbox', url: 'http://127.0.0.1:2/', timeout: '90s' },
          set: { kind: 'sandbox', url: 'http://127.0.0.1:3/', lateWriteWindow: '5m' },
        },
      },
    }).connectors;
    expect(connectors.quick?.lateWriteWindow).toBe(60_000);
    expect(connectors.slow?.lateWriteWindow).toBe(90_000);
    expect(connectors.set?.lateWriteWindow).toBe(300_000);
  });

  describe('two connector names for one system', () => {
    const at = (url: string, types?: string[]) => ({ kind: 'sandbox', url, types });
    const URL_A = 'http://127.0.0.1:8081';

    it('refuses them unless each lists its types, none in both', () => {
      const untyped = problemsOf(() =>
        loadConfig({
          env: {},
          values: { connectors: { helpdesk: at(URL_A, ['ticket']), crm: at(`${URL_A}/`) } },
        }),
      );
      expect(untyped).toEqual([
        expect.stringMatching(
          /^connectors\.crm\.types: helpdesk, crm are one system \(sandbox http:\/\/127\.0\.0\.1:8081\/\): each must list/,
        ),
      ]);
      const shared = problemsOf(() =>
        loadConfig({
          env: {},
          values: {
            connectors: {
              helpdesk: at(URL_A, ['ticket', 'contact']),
              crm: at(URL_A, ['contact', 'deal']),
            },
          },
        }),
      );
      expect(shared).toEqual([
        expect.stringMatching(/^connectors\.crm\.types: contact is served by helpdesk too/),
      ]);
      // One place however the URL is spelled.
      const spelled = problemsOf(() =>
        loadConfig({
          env: {},
          values: {
            connectors: {
              a: at('http://LOCALHOST:80/', ['contact']),
              b: at('http://localhost', ['contact']),
            },
          },
        }),
      );
      expect(spelled).toEqual([
        expect.stringMatching(/^connectors\.b\.types: contact is served by a too/),
      ]);
    });

    it('takes them with disjoint types, and names of other systems without types', () => {
      const config = loadConfig({
        env: {},
        values: {
          connectors: {
            helpdesk: at(URL_A, ['ticket']),
            crm: at('http://localhost:8082/', ['contact']),
            crm_eu: at('http://localhost:8083', ['contact', 'deal', 'order']),
            other: at('http://127.0.0.1:9000'),
          },
        },
      });
      expect(Object.keys(config.connectors)).toEqual(['helpdesk', 'crm', 'crm_eu', 'other']);
    });
  });

  it('reads secrets given as env:NAME, and names the variable when it is missing', () => {
    const values = {
      sources: { demo: { scheme: 'standard-webhooks', secrets: ['env:DEMO_SECRET'] } },
    };
    const config = loadConfig({ env: { DEMO_SECRET: SECRET }, values });
    expect(config.sources.demo?.secrets[0]?.reveal()).toBe(SECRET);
    const problems = problemsOf(() => loadConfig({ env: {}, values }));
    expect(problems).toEqual([
      'sources.demo.secrets.0: environment variable DEMO_SECRET is not set',
    ]);
  });

  it('never shows a secret in JSON, strings or logs', () => {
    const config = loadConfig({
      env: {},
      values: { sources: { demo: { scheme: 'standard-webhooks', secrets: [SECRET] } } },
    });
    expect(JSON.stringify(config)).not.toContain(SECRET.slice(6));
    expect(inspect(config, { depth: 10 })).not.toContain(SECRET.slice(6));
    expect(String(config.sources.demo?.secrets[0])).toBe('[redacted]');
  });

  it('lets the environment override the file, and flags override both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-config-'));
    const file = join(dir, 'airlock.yaml');
    writeFileSync(
      file,
      `server: { port: 9000 }\nretention: { idempotencyKeys: 12h }\nsources:\n  demo: { scheme: github, secrets: [a] }\nagents:\n  demo-agent: { keySha256: "${'a'.repeat(64)}", operations: [ticket.reply] }\n`,
    );
    const env = {
      AIRLOCK_SERVER__HOST: '0.0.0.0',
      // Empty is unset: the file's port stands.
      AIRLOCK_SERVER__PORT: '',
      AIRLOCK_RETENTION__IDEMPOTENCY_KEYS: '2h',
      AIRLOCK_SOURCES__DEMO__TOLERANCE_SECONDS: '60',
      // A name with a dash, as a variable can spell it.
      AIRLOCK_AGENTS__DEMO_AGENT__OPERATIONS: '[ticket.reply, ticket.add_note]',
      AIRLOCK_DATABASE_URL: 'postgres://db.internal/airlock',
      // Not the config's: the first key is no section of it.
      AIRLOCK_TEST_DATABASE_URL: 'postgres://elsewhere/test',
      AIRLOCK_KEY: 'ak_an_agents_own_key',
      AIRLOCK_AGENT_KEY: 'ak_an_agents_own_key',
    };
    const config = loadConfig({ file, env });
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.port).toBe(9000);
    expect(config.retention.idempotencyKeys).toBe(2 * 3_600_000);
    expect(config.sources.demo?.toleranceSeconds).toBe(60);
    expect(Object.keys(config.agents)).toEqual(['demo-agent']);
    expect(config.agents['demo-agent']?.operations).toEqual(['ticket.reply', 'ticket.add_note']);
    expect(config.store.url).toBe('postgres://db.internal/airlock');
    expect(loadConfig({ file, env, flags: { port: 7000 } }).server.port).toBe(7000);
  });

  it('names the file when it is missing or not YAML', () => {
    expect(() => loadConfig({ env: {}, file: '/nonexistent/airlock.yaml' })).toThrow(
      'cannot read config file /nonexistent/airlock.yaml',
    );
    const dir = mkdtempSync(join(tmpdir(), 'airlock-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server: [unclosed\n');
    expect(() => loadConfig({ env: {}, file })).toThrow(/is not valid YAML/);
    writeFileSync(file, '- a list\n');
    expect(() => loadConfig({ env: {}, file })).toThrow(/must hold a mapping/);
  });

  it('refuses a loopback deliver url unless allowPrivateNetwork, naming the option', () => {
    const agent = (deliver: Record<string, unknown>) => ({
      agents: {
        bot: {
          keySha256: 'a'.repeat(64),
          operations: [...OPERATION_NAMES],
          deliver: { url: 'http://127.0.0.1:9000/x', secret: SECRET, ...deliver },
        },
      },
    });
    const problems = problemsOf(() => loadConfig({ env: {}, values: agent({}) }));
    expect(problems).toEqual([
      expect.stringMatching(/^agents\.bot\.deliver\.url: .*loopback.*allowPrivateNetwork: true/),
    ]);
    const config = loadConfig({ env: {}, values: agent({ allowPrivateNetwork: true }) });
    expect(config.agents.bot?.deliver?.url).toBe('http://127.0.0.1:9000/x');
  });
});
