import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import { sha256 } from './helpers/gateway.js';
import { writeConfig } from './helpers/gateway-process.js';
import { runCli } from './helpers/subprocess.js';

const dir = mkdtempSync(join(tmpdir(), 'airlock-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('airlock tools', () => {
  it('prints one OpenAI function per operation', async () => {
    const result = await runCli(['tools', '--format', 'openai']);
    expect(result.code, result.stderr).toBe(0);
    const tools = JSON.parse(result.stdout) as Array<{
      type: string;
      function: { name: string; description: string; parameters: { type: string } };
    }>;
    expect(tools.map((tool) => tool.function.name)).toEqual(
      OPERATION_NAMES.map((name) => name.replaceAll('.', '_')),
    );
    for (const tool of tools) {
      expect(tool.type).toBe('function');
      expect(tool.function.parameters.type).toBe('object');
      expect(tool.function.description.length).toBeGreaterThan(50);
    }
  });

  it("prints an agent's operations in the Anthropic shape, or those listed", async () => {
    const configFile = writeConfig(dir, {
      store: { url: `sqlite:${join(dir, 'airlock.db')}` },
      agents: {
        triage: { keySha256: sha256('k'), operations: ['ticket.tag', 'ticket.assign'] },
      },
    });
    const agent = await runCli([
      'tools',
      '--format',
      'anthropic',
      '--config',
      configFile,
      '--agent',
      'triage',
    ]);
    expect(agent.code, agent.stderr).toBe(0);
    const tools = JSON.parse(agent.stdout) as Array<{ name: string; input_schema: unknown }>;
    expect(tools.map((tool) => tool.name)).toEqual(['ticket_tag', 'ticket_assign']);
    expect(tools[0]?.input_schema).toMatchObject({ type: 'object' });

    const listed = await runCli(['tools', '--format', 'openai', '--operations', 'order.cancel']);
    expect(JSON.parse(listed.stdout)).toHaveLength(1);
  });

  it('exits 2 on a bad format or an unknown operation', async () => {
    const badFormat = await runCli(['tools', '--format', 'xml']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('expected openai or anthropic');
    expect(badFormat.stdout).toBe('');
    const unknown = await runCli(['tools', '--format', 'openai', '--operations', 'ticket.delete']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown operation ticket.delete');
    const both = await runCli([
      'tools',
      '--format',
      'openai',
      '--operations',
      'order.cancel',
      '--agent',
      'triage',
    ]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('not both');
  });
});
