import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { type AuditLine, appendAudit } from '../src/audit/index.js';
import { openStore } from '../src/store/index.js';
import { writeConfig } from './helpers/gateway-process.js';
import { runCli } from './helpers/subprocess.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-audit-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const airlock = (...args: string[]) => runCli(args);

describe('airlock audit', () => {
  const url = `sqlite:${join(dir, 'airlock.db')}`;
  const configFile = writeConfig(dir, { store: { url } });
  const day = 86_400_000;

  it('verifies the chain, exports it, and names the first tampered entry', async () => {
    const store = await openStore(url);
    try {
      // Two old entries and two recent ones, for `--since`.
      for (const [i, at] of [2 * day, 2 * day, 0, 0].entries()) {
        await store.transaction((trx) =>
          appendAudit(
            trx,
            { kind: 'event', subject: `evt_${i + 1}`, change: 'received', at: Date.now() - at },
            store.dialect,
          ),
        );
      }
    } finally {
      await store.close();
    }

    const verified = await airlock('audit', 'verify', '--config', configFile);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    const head = /^ok: 4 entries, head seq=4 hash=([0-9a-f]{64})\n$/.exec(verified.stdout);
    expect(head).not.toBeNull();
    const recorded = `4:${head?.[1]}`;
    expect(
      (await airlock('audit', 'verify', '--head', recorded, '--config', configFile)).code,
    ).toBe(0);

    const recent = await airlock('audit', 'export', '--since', '24h', '--config', configFile);
    expect(recent.code).toBe(0);
    const lines = recent.stdout.trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as AuditLine).subject)).toEqual([
      'evt_3',
      'evt_4',
    ]);
    const all = await airlock(
      'audit',
      'export',
      '--since',
      '2000-01-01T00:00:00Z',
      '-c',
      configFile,
    );
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(4);
    const bad = await airlock('audit', 'export', '--since', 'yesterday', '--config', configFile);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected an ISO date-time');
    expect((await airlock('audit', 'verify', '--head', 'latest', '-c', configFile)).code).toBe(2);

    const tamper = await openStore(url);
    try {
      await sql`update audit_log set subject = 'evt_other' where seq = 2`.execute(tamper.db);
    } finally {
      await tamper.close();
    }
    const broken = await airlock('audit', 'verify', '--config', configFile);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toBe('');
    expect(broken.stderr).toContain('audit-chain-broken: first bad entry: seq=2 (changed)');
  });
});
