import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteFile } from '../src/store/index.js';
import type { Trace } from '../src/trace/index.js';
import { type PlayedChain, playReplyAndCancel, startEchoLoop } from './helpers/echo-loop.js';
import { writeConfig } from './helpers/gateway-process.js';
import { createTestDatabase } from './helpers/stores.js';
import { runCli } from './helpers/subprocess.js';

describe('airlock why', () => {
  const database = createTestDatabase('sqlite');
  let configFile: string;
  let chain: PlayedChain;

  beforeAll(async () => {
    const loop = await startEchoLoop(database);
    try {
      chain = await playReplyAndCancel(loop);
    } finally {
      await loop.close();
    }
    configFile = writeConfig(dirname(sqliteFile(database)), {
      store: { url: database.url },
    });
  });
  afterAll(() => database.drop());

  it('prints the chain behind an action as a timeline, one step a line, in order', async () => {
    const result = await runCli(['why', chain.reply, '--config', configFile]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^why ${chain.reply} \\(action\\): 2 events, 1 action,`));
    expect(lines[1]).toMatch(/^\d{4}-\d{2}-\d{2} \(UTC\)$/);

    const steps = lines.filter((line) => /^\d{2}:\d{2}:\d{2}\.\d{3} {2}/.test(line));
    const at = (pattern: string) => {
      const index = steps.findIndex((line) => new RegExp(pattern).test(line));
      expect(index, `${pattern} in\n${result.stdout}`).toBeGreaterThanOrEqual(0);
      return index;
    };
    const received = at(
      `webhook received +${chain.event} +helpdesk ticket\\.comment_added on helpdesk:ticket:${chain.ticket} \\(provider id ${chain.providerEventId}\\)$`,
    );
    const proposed = at(
      `proposed +${chain.reply} +bot: ticket\\.reply on helpdesk:ticket:${chain.ticket} based on revision 2, ${chain.event}; test-model: "the customer asks where the order is"$`,
    );
    const policy = at(`policy +${chain.reply} +allow`);
    const executed = at(
      `executed +${chain.reply} +ticket\\.reply: comment added \\(revision 2 → 3\\)$`,
    );
    const echo = at(`echo received +${chain.replyEchoes[0]} +helpdesk .*, echo of ${chain.reply}$`);
    expect(received).toBeLessThan(proposed);
    expect(proposed).toBeLessThan(policy);
    expect(policy).toBeLessThan(executed);
    // The echo may be received before or after Airlock records the write as executed.
    expect(echo).toBeGreaterThan(policy);
    expect(steps).toHaveLength(4 + chain.replyEchoes.length);

    const json = await runCli(['why', chain.replyKey, '--json', '--config', configFile]);
    expect(json.code).toBe(0);
    const trace = JSON.parse(json.stdout) as Trace;
    expect(trace.query).toEqual({ id: chain.replyKey, kind: 'idempotency-key' });
    expect(trace.actions.map((action) => action.id)).toEqual([chain.reply]);
  });

  it('exits 1 naming the problem for an id that names nothing', async () => {
    const result = await runCli(['why', 'act_nothing', '--config', configFile]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('airlock: trace-not-found: nothing known as "act_nothing"');
  });

  it('exits 2 for an empty id, a misuse, as every command taking an id does', async () => {
    for (const args of [
      ['why', ''],
      ['events', 'show', ' '],
      ['actions', 'retry', ''],
      ['approvals', 'show', ''],
    ]) {
      const result = await runCli([...args, '--config', configFile]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain('an id is required');
    }
  });
});
