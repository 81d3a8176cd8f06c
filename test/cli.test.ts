import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { authenticateAgent } from '../src/agents/index.js';
import { openStore } from '../src/store/index.js';
import { freePort, startGatewayProcess, writeConfig } from './helpers/gateway-process.js';
import { createTestDatabase } from './helpers/stores.js';
import { runCli } from './helpers/subprocess.js';
import { DEMO_SECRET, signStandardWebhook, ticketEventBody } from './helpers/webhooks.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const airlock = (...args: string[]) => runCli(args);

describe('airlock CLI', () => {
  it('exits 0 on --help, 2 on misuse', async () => {
    const help = await airlock('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('start');
    const version = await airlock('--version');
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(
      JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version,
    );
    const unknown = await airlock('launch');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'launch'");
    // An empty one was port 0, any free one.
    for (const port of ['http', '', ' ', '0x50']) {
      const badPort = await airlock('start', '--port', port);
      expect(badPort.code, port).toBe(2);
      expect(badPort.stderr, port).toContain('expected a port number');
    }
  });

  it('adds an agent once, printing its key, and refuses bad names and operations', async () => {
    const agentsDir = mkdtempSync(join(dir, 'agents-'));
    const configFile = writeConfig(agentsDir, {
      store: { url: `sqlite:${join(agentsDir, 'airlock.db')}` },
    });
    const added = await airlock(
      'agents',
      'add',
      'triage',
      '--operations',
      'ticket.tag,ticket.assign',
      '--config',
      configFile,
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/key \(shown once, store it now\): ak_\S{20,}/);
    // There was no store: one is made, and that is said, in case store.url was mistyped.
    expect(added.stderr).toBe(
      `airlock: made a new store, as there was none: no store at ${join(agentsDir, 'airlock.db')} (store.url sqlite:${join(agentsDir, 'airlock.db')}, from ${configFile}); a relative path is taken from the current directory\n`,
    );
    // The printed key authenticates the agent, with the operations given.
    const key = /(ak_\S+)/.exec(added.stdout)?.[1];
    const store = await openStore(`sqlite:${join(agentsDir, 'airlock.db')}`);
    try {
      expect(await authenticateAgent(store, {}, `Bearer ${key}`)).toEqual({
        name: 'triage',
        operations: ['ticket.tag', 'ticket.assign'],
      });
    } finally {
      await store.close();
    }
    const again = await airlock(
      'agents',
      'add',
      'triage',
      '--operations',
      'ticket.tag',
      '--config',
      configFile,
    );
    expect(again.code).toBe(1);
    // The store is there now: nothing is said of it.
    expect(again.stderr).toMatch(/^airlock: agent-exists/);
    const badName = await airlock(
      'agents',
      'add',
      'Bad Name',
      '--operations',
      'ticket.tag',
      '--config',
      configFile,
    );
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('agent name: expected lower-case letters, digits, - or _');
    const reserved = await airlock(
      'agents',
      'add',
      'airlock-undo',
      '--operations',
      'ticket.tag',
      '--config',
      configFile,
    );
    expect(reserved.code).toBe(2);
    expect(reserved.stderr).toContain(
      'agent name: names starting with airlock- are reserved to the gateway',
    );
    const badOperation = await airlock(
      'agents',
      'add',
      'other',
      '--operations',
      'ticket.delete',
      '--config',
      configFile,
    );
    expect(badOperation.code).toBe(2);
    expect(badOperation.stderr).toContain('unknown operation ticket.delete');
  });

  it('refuses to read a store that is not there, rather than report on a new empty one', async () => {
    const emptyDir = mkdtempSync(join(dir, 'empty-'));
    const dbFile = join(emptyDir, 'airlock.db');
    const configFile = writeConfig(emptyDir, { store: { url: `sqlite:${dbFile}` } });
    const commands = [
      ['audit', 'verify'],
      ['events', 'list'],
      // An agent not in the config is looked for in the store: it made one, and migrated it.
      ['tools', '--format', 'openai', '--agent', 'nobody'],
    ];
    for (const args of commands) {
      const result = await airlock(...args, '--config', configFile);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain(`airlock: store-not-found: no store at ${dbFile}`);
    }
    expect(existsSync(dbFile)).toBe(false);
    // An empty file is no store either: it was migrated and `audit verify` said ok.
    writeFileSync(dbFile, '');
    for (const args of commands) {
      const result = await airlock(...args, '--config', configFile);
      expect(result.code, args.join(' ')).toBe(1);
      expect(result.stderr).toContain(`no store at ${dbFile} (an empty file)`);
    }
    // Nor is a PostgreSQL schema without Airlock's tables: it was created and migrated, and
    // reported as an empty inbox.
    const database = createTestDatabase('postgres');
    const pgConfig = writeConfig(mkdtempSync(join(dir, 'pg-')), { store: { url: database.url } });
    try {
      for (const args of commands) {
        const result = await airlock(...args, '--config', pgConfig);
        expect(result.code, args.join(' ')).toBe(1);
        expect(result.stderr).toMatch(
          /^airlock: store-not-found: no store at postgres:.*no Airlock tables/,
        );
      }
      const schema = new URL(database.url).searchParams.get('schema');
      const probe = await openStore(inject('postgresUrl'), { migrate: false });
      try {
        const found = await sql<{ n: number }>`
          select count(*)::int as n from information_schema.schemata where schema_name = ${schema}`.execute(
          probe.db,
        );
        expect(found.rows[0]?.n).toBe(0);
      } finally {
        await probe.close();
      }
    } finally {
      await database.drop();
    }
    const noFile = await airlock('events', 'list', '--config', '');
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toBe(
      'airlock: config-not-found: --config is empty: name a config file\n',
    );
    for (const verb of ['retry', 'undo']) {
      const nobody = await airlock('actions', verb, 'act_x', '--as', ' ', '--config', configFile);
      expect(nobody.code, verb).toBe(2);
      expect(nobody.stderr, verb).toContain('expected a name of 1 to 200 characters');
    }
  });

  it('refuses a demo --data that cannot be a directory before it starts the run', async () => {
    const file = join(dir, 'not-a-dir');
    writeFileSync(file, '');
    const result = await airlock('demo', '--data', file, '--exit', '--seconds', '1');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `airlock: data-dir-unusable: --data ${file}: cannot make ${join(file, 'seed-1')} (ENOTDIR)\n`,
    );
    // Nothing of the run was played: it said so at once, not after the direct half.
    expect(result.stdout).toBe('');
  });

  it('ends quietly when its reader closes the pipe early', async () => {
    const child = spawn(process.execPath, ['dist/cli/main.js', 'tools', '--format', 'openai'], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('names the store it cannot open, without its password', async () => {
    const badDir = mkdtempSync(join(dir, 'bad-store-'));
    const notADatabase = join(badDir, 'airlock.db');
    writeFileSync(notADatabase, 'not a database');
    const sqlite = await airlock(
      'events',
      'list',
      '--config',
      writeConfig(badDir, { store: { url: `sqlite:${notADatabase}` } }),
    );
    expect(sqlite.code).toBe(1);
    expect(sqlite.stderr).toBe(
      `airlock: store-unavailable: cannot open the store sqlite:${notADatabase}: file is not a database\n`,
    );
    const port = await freePort();
    const postgres = await airlock(
      'events',
      'list',
      '--config',
      writeConfig(badDir, { store: { url: `postgres://airlock:s3cret@127.0.0.1:${port}/x` } }),
    );
    expect(postgres.code).toBe(1);
    expect(postgres.stderr).toMatch(
      `airlock: store-unavailable: cannot open the store postgres://airlock:***@127.0.0.1:${port}/x: `,
    );
    expect(postgres.stderr).not.toContain('s3cret');
  });

  it('says which port is taken and how to move it, with exit 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const portDir = mkdtempSync(join(dir, 'port-'));
      const configFile = writeConfig(portDir, {
        store: { url: `sqlite:${join(portDir, 'airlock.db')}` },
        sandbox: { enabled: true, port },
      });
      const sandboxTaken = await airlock('start', '--config', configFile, '--port', '0');
      expect(sandboxTaken.code).toBe(1);
      expect(sandboxTaken.stderr).toContain(
        `airlock: port-in-use: the built-in sandbox cannot listen on 127.0.0.1:${port}: the port is taken; choose another with sandbox.port\n`,
      );
      const gatewayTaken = await airlock('start', '--config', configFile, '--port', String(port));
      expect(gatewayTaken.code).toBe(1);
      expect(gatewayTaken.stderr).toContain(
        `airlock: port-in-use: the gateway cannot listen on 127.0.0.1:${port}: the port is taken; choose another with server.port (or --port)\n`,
      );
      // The stand-alone sandbox said `internal` here.
      const standalone = await airlock('sandbox', '--port', String(port));
      expect(standalone.code).toBe(1);
      expect(standalone.stderr).toContain(
        `airlock: port-in-use: the sandbox cannot listen on 127.0.0.1:${port}: the port is taken; choose another with --port\n`,
      );
      // An address that is not this machine's (TEST-NET-1, RFC 5737).
      const foreign = await airlock(
        'start',
        '--config',
        writeConfig(portDir, {
          store: { url: `sqlite:${join(portDir, 'airlock.db')}` },
          server: { host: '192.0.2.1' },
        }),
        '--port',
        '0',
      );
      expect(foreign.code).toBe(1);
      expect(foreign.stderr).toContain(
        'airlock: listen-failed: the gateway cannot listen on 192.0.2.1:0: the address is not one of this machine’s\n',
      );
    } finally {
      taken.close();
    }
  });

  it('refuses to start on a bad config, naming the key, with exit 1', async () => {
    const configFile = writeConfig(join(dir), {
      server: { port: 'eighty' },
      sources: { demo: { scheme: 'standard-webhooks', secrets: ['env:AIRLOCK_CLI_TEST_UNSET'] } },
    });
    const result = await airlock('start', '--config', configFile);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('airlock: config-invalid');
    expect(result.stderr).toContain('server.port');
    expect(result.stderr).toContain(
      'sources.demo.secrets.0: environment variable AIRLOCK_CLI_TEST_UNSET is not set',
    );
  });

  it('lists and shows the events a running gateway received', async () => {
    const eventsDir = mkdtempSync(join(dir, 'events-'));
    const configFile = writeConfig(eventsDir, {
      store: { url: `sqlite:${join(eventsDir, 'airlock.db')}` },
      log: { level: 'warn' },
      sources: { demo: { scheme: 'standard-webhooks', secrets: [DEMO_SECRET] } },
    });
    const gateway = await startGatewayProcess(configFile, await freePort());
    let eventId: string;
    try {
      const body = ticketEventBody('T-42');
      const response = await fetch(`${gateway.url}/hooks/demo`, {
        method: 'POST',
        headers: signStandardWebhook(body, 'msg_cli'),
        body,
      });
      expect(response.status).toBe(202);
      eventId = ((await response.json()) as { event: string }).event;

      // The CLI reads the same file while the gateway runs.
      const list = await airlock(
        'events',
        'list',
        '--config',
        configFile,
        '--record',
        'demo:ticket:T-42',
      );
      expect(list.code).toBe(0);
      expect(list.stdout).toContain(eventId);
      expect(list.stdout).toContain('demo:ticket:T-42');
    } finally {
      await gateway.stop('SIGTERM');
    }
    const show = await airlock('events', 'show', eventId, '--config', configFile, '--json');
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ id: eventId, providerEventId: 'msg_cli' });

    const missing = await airlock('events', 'show', 'evt_nope', '--config', configFile);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('airlock: event-not-found: no event evt_nope');
    const badRecord = await airlock('events', 'list', '--config', configFile, '--record', 'T-42');
    expect(badRecord.code).toBe(2);
    expect(badRecord.stderr).toContain('expected a record as system:type:id');
    const badCursor = await airlock('events', 'list', '--config', configFile, '--cursor', 'junk');
    expect(badCursor.code).toBe(1);
    expect(badCursor.stderr).toContain('airlock: invalid-query: cursor must be');
  });
});
