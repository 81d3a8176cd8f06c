import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { catalogue, OPERATION_NAMES } from './catalogue.js';
import { OPERATION_SUMMARIES, operationTools, toolInputSchema, toolsForFormat } from './tools.js';

/** A valid call of each operation, as an agent would make it. */
const EXAMPLES: Record<string, { type: string; params: Record<string, unknown> }> = {
  'ticket.reply': { type: 'ticket', params: { body: 'It ships today.' } },
  'ticket.add_note': { type: 'ticket', params: { body: 'Customer called.' } },
  'ticket.set_status': { type: 'ticket', params: { status: 'pending', reason: 'waiting' } },
  'ticket.assign': { type: 'ticket', params: { assignee: 'sam' } },
  'ticket.tag': { type: 'ticket', params: { add: ['vip'] } },
  'contact.create': { type: 'contact', params: { email: 'ada@example.com', name: 'Ada' } },
  'contact.update': { type: 'contact', params: { changes: { phone: '+44 20 1234' } } },
  'deal.set_stage': { type: 'deal', params: { stage: 'closedwon' } },
  'note.create': { type: 'deal', params: { body: 'Renewal discussed.' } },
  'email.send': { type: 'contact', params: { subject: 'Your order', body: 'It ships today.' } },
  'order.cancel': { type: 'order', params: { reason: 'customer asked' } },
  'discount.apply': { type: 'order', params: { amount: 10, currency: 'EUR' } },
};

const tools = operationTools(OPERATION_NAMES);

describe('operationTools', () => {
  it('gives every catalogue operation a tool with a name the providers accept', () => {
    expect(tools.map((tool) => tool.operation)).toEqual([...catalogue.keys()]);
    for (const tool of tools) {
      expect(tool.name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      expect(tool.name).toBe(tool.operation.replaceAll('.', '_'));
      expect(OPERATION_SUMMARIES[tool.operation], tool.operation).toBeDefined();
    }
    expect(new Set(tools.map((tool) => tool.name)).size).toBe(tools.length);
  });

  it.each(OPERATION_NAMES)(
    '%s: accepts a valid call and requires what its params require',
    (name) => {
      const example = EXAMPLES[name];
      const tool = tools.find((candidate) => candidate.operation === name);
      const spec = catalogue.get(name);
      if (!example || !tool || !spec) throw new Error(`no example or tool for ${name}`);
      const input = toolInputSchema(name);
      const call = {
        target: { system: 'helpdesk', type: example.type, id: '42' },
        params: example.params,
        basis: { revision: '3', events: ['evt_1'] },
        decision: { model: 'test-model', summary: 'why' },
        idempotencyKey: 'k-1',
        dryRun: false,
      };
      expect(input.safeParse(call).success).toBe(true);
      // Only target and params are required.
      expect(input.safeParse({ target: call.target, params: call.params }).success).toBe(true);
      expect(input.safeParse({ ...call, params: { nonsense: true } }).success).toBe(false);
      expect(input.safeParse({ ...call, operation: name }).success).toBe(false);

      const schema = tool.inputSchema as {
        type: string;
        required: string[];
        properties: Record<string, { required?: string[]; properties?: Record<string, unknown> }>;
      };
      expect(schema.type).toBe('object');
      expect(schema).not.toHaveProperty('$schema');
      expect(schema.required).toEqual(['target', 'params']);
      const paramsSchema = z.toJSONSchema(spec.params, { io: 'input' }) as { required?: string[] };
      expect(schema.properties.params?.required ?? []).toEqual(paramsSchema.required ?? []);
      expect(schema.properties.target?.required).toEqual(['system', 'type', 'id']);
      expect(Object.keys(schema.properties)).toEqual([
        'target',
        'params',
        'basis',
        'decision',
        'idempotencyKey',
        'dryRun',
      ]);
      // A wrong record type is refused before it reaches the gateway, where the type is fixed.
      if (spec.targetType !== '*') {
        const wrong = { ...call, target: { ...call.target, type: 'elephant' } };
        expect(input.safeParse(wrong).success).toBe(false);
      }
    },
  );

  it('marks irreversible and high-risk operations destructive, and every tool idempotent', () => {
    const byName = new Map(tools.map((tool) => [tool.operation, tool]));
    expect(byName.get('ticket.reply')?.annotations).toMatchObject({
      destructiveHint: true,
      readOnlyHint: false,
      idempotentHint: true,
      openWorldHint: true,
    });
    expect(byName.get('order.cancel')?.annotations.destructiveHint).toBe(true);
    expect(byName.get('order.cancel')?.description).toContain('waits for a human approval');
    expect(byName.get('ticket.set_status')?.annotations.destructiveHint).toBe(false);
    expect(byName.get('ticket.set_status')?.description).toContain('Reversible');
    for (const tool of tools) {
      expect(tool.annotations.idempotentHint).toBe(true);
      expect(tool.annotations.destructiveHint).toBe(!catalogue.get(tool.operation)?.reversible);
    }
    expect(
      operationTools(['discount.apply'], { discountApprovalAbove: 120 })[0]?.description,
    ).toContain("high when the order's discounts would come to more than 120 in all");
  });

  it('refuses an operation that is not in the catalogue', () => {
    expect(() => operationTools(['ticket.delete'])).toThrow(/no operation ticket.delete/);
  });
});

describe('toolsForFormat', () => {
  it('gives the OpenAI and Anthropic shapes', () => {
    const [reply] = operationTools(['ticket.reply']);
    if (!reply) throw new Error('no tool');
    expect(toolsForFormat([reply], 'openai')).toEqual([
      {
        type: 'function',
        function: {
          name: 'ticket_reply',
          description: reply.description,
          parameters: reply.inputSchema,
        },
      },
    ]);
    expect(toolsForFormat([reply], 'anthropic')).toEqual([
      { name: 'ticket_reply', description: reply.description, input_schema: reply.inputSchema },
    ]);
  });
});
