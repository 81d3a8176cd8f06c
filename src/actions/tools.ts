import { z } from 'zod';
import { withArticle } from '../wording.js';
import { type CatalogueLimits, catalogue, type OperationSpec } from './catalogue.js';
import { proposalSchema } from './proposal.js';

/**
 * The catalogue as tools an agent calls: one per operation, for MCP, OpenAI and Anthropic
 * function calling. Each tool's input is a proposal without `operation` (the tool names it), plus
 * an optional `idempotencyKey`; its JSON Schema comes from the same zod schemas the pipeline
 * parses with.
 */

/** MCP's tool annotations (hints for clients; Airlock enforces the rules itself). */
export interface ToolAnnotations {
  readonly title: string;
  readonly readOnlyHint: boolean;
  readonly destructiveHint: boolean;
  readonly idempotentHint: boolean;
  readonly openWorldHint: boolean;
}

/** One tool: a catalogue operation as an agent sees it. */
export interface OperationTool {
  /** `ticket_reply`: the operation with dots as underscores (what OpenAI, Anthropic, MCP accept). */
  readonly name: string;
  /** `ticket.reply`. */
  readonly operation: string;
  readonly title: string;
  readonly description: string;
  /** JSON Schema (2020-12, without `$schema`) of the call's arguments: `ToolArguments`. */
  readonly inputSchema: Record<string, unknown>;
  readonly annotations: ToolAnnotations;
}

/** What a tool call carries, as its input schema parses it. */
export interface ToolArguments {
  readonly target: { readonly system: string; readonly type: string; readonly id: string };
  readonly params: Record<string, unknown>;
  readonly basis?:
    | { readonly revision?: string | undefined; readonly events: readonly string[] }
    | undefined;
  readonly decision?:
    | {
        readonly model?: string | undefined;
        readonly summary?: string | undefined;
        readonly context?: Record<string, unknown> | undefined;
      }
    | undefined;
  readonly idempotencyKey?: string | undefined;
  readonly dryRun?: boolean | undefined;
}

/** What each operation does, in words for a model choosing a tool. */
export const OPERATION_SUMMARIES: Readonly<Record<string, { title: string; does: string }>> = {
  'ticket.reply': {
    title: 'Reply to a ticket',
    does: 'Posts a public reply to the customer on a helpdesk ticket.',
  },
  'ticket.add_note': {
    title: 'Add an internal note to a ticket',
    does: 'Adds an internal note (not shown to the customer) to a helpdesk ticket.',
  },
  'ticket.set_status': {
    title: 'Set a ticket status',
    does: 'Sets the status of a helpdesk ticket (new, open, pending, hold, solved, closed).',
  },
  'ticket.assign': {
    title: 'Assign a ticket',
    does: 'Assigns a helpdesk ticket to an agent or group.',
  },
  'ticket.tag': {
    title: 'Tag a ticket',
    does: 'Adds and/or removes tags on a helpdesk ticket.',
  },
  'contact.create': {
    title: 'Create a contact',
    does:
      'Creates a CRM contact. The target names the system and type `contact`; its id is a ' +
      'placeholder such as "new".',
  },
  'contact.update': {
    title: 'Update a contact',
    does: 'Changes fields of a CRM contact (`changes`: field name to new value).',
  },
  'deal.set_stage': {
    title: 'Move a deal to a stage',
    does: 'Sets the pipeline stage of a CRM deal.',
  },
  'note.create': {
    title: 'Add a note to a record',
    does: 'Adds a note to any record (ticket, contact, deal, order).',
  },
  'email.send': {
    title: 'Email a contact',
    does: 'Sends an email to a CRM contact.',
  },
  'order.cancel': {
    title: 'Cancel an order',
    does: 'Cancels an order.',
  },
  'discount.apply': {
    title: 'Apply a discount to an order',
    does: 'Applies a discount (amount and ISO 4217 currency) to an order.',
  },
};

const DEFAULT_LIMITS: CatalogueLimits = { discountApprovalAbove: 50 };

/** The name an operation has as a tool: `ticket.reply` → `ticket_reply`. */
export function toolName(operation: string): string {
  return operation.replaceAll('.', '_');
}

const shape = proposalSchema.shape;

/**
 * The zod schema of an operation's tool arguments: what `operationTools` turns into JSON Schema
 * and what an MCP server validates calls with. Throws for an operation not in the catalogue.
 */
export function toolInputSchema(operation: string): z.ZodType<ToolArguments> {
  const spec = specOf(operation);
  const target =
    spec.targetType === '*'
      ? shape.target
      : shape.target.extend({ type: z.literal(spec.targetType) });
  const schema: z.ZodType<ToolArguments> = z.strictObject({
    target: target.describe(
      'The record to act on: `system` is the connector name in the gateway config (e.g. helpdesk, crm).',
    ),
    params: spec.params,
    basis: shape.basis.describe(
      'What the decision was based on: `revision` is the record revision you read (required for ' +
        'changes to an existing record); `events` the inbox event ids (`evt_…`) that triggered it.',
    ),
    decision: shape.decision.describe(
      'Why: the model and a short summary of the reasoning, kept in the audit trail.',
    ),
    idempotencyKey: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .describe(
        'Makes a retried call safe: the same key gives the first answer, never a second write. ' +
          'When omitted, one is derived from the operation, the target and the basis events (the params when there are none).',
      ),
    dryRun: z
      .boolean()
      .optional()
      .describe('Check only: answers what would happen, writes nothing.'),
  });
  return schema;
}

/**
 * One tool per operation, in the order given. `limits` are the config's thresholds (the
 * discount above which approval is needed), for the descriptions; default as the config's.
 */
export function operationTools(
  operations: readonly string[],
  limits: CatalogueLimits = DEFAULT_LIMITS,
): OperationTool[] {
  return operations.map((operation) => {
    const spec = specOf(operation);
    const summary = OPERATION_SUMMARIES[operation] ?? {
      title: operation,
      does: `Proposes ${operation}.`,
    };
    const risk = riskOf(spec, limits);
    const destructive = !spec.reversible || risk.high;
    const { $schema: _, ...inputSchema } = z.toJSONSchema(toolInputSchema(operation), {
      io: 'input',
    });
    return {
      name: toolName(operation),
      operation,
      title: summary.title,
      description: describe(spec, summary.does, risk.text),
      inputSchema,
      annotations: {
        title: summary.title,
        readOnlyHint: false,
        destructiveHint: destructive,
        // Every call carries an idempotency key (given or derived): a repeat is answered, not redone.
        idempotentHint: true,
        openWorldHint: true,
      },
    };
  });
}

function specOf(operation: string): OperationSpec {
  const spec = catalogue.get(operation);
  if (!spec) {
    throw new Error(
      `no operation ${operation} in the catalogue; known: ${[...catalogue.keys()].join(', ')}`,
    );
  }
  return spec;
}

/**
 * The risk in words. The catalogue's risk is a function of the params; the only one that varies
 * is the discount's, against its configured threshold.
 */
function riskOf(spec: OperationSpec, limits: CatalogueLimits): { text: string; high: boolean } {
  if (spec.name === 'discount.apply') {
    return {
      text: `medium; high when the order's discounts would come to more than ${limits.discountApprovalAbove} in all, this one included (then it waits for a human approval)`,
      high: false,
    };
  }
  // Every other operation's risk is fixed: the params do not matter.
  const risk = spec.risk({}, limits, null);
  return {
    text: risk === 'high' ? 'high: it always waits for a human approval' : risk,
    high: risk === 'high',
  };
}

function describe(spec: OperationSpec, does: string, risk: string): string {
  const target =
    spec.targetType === '*'
      ? 'any record'
      : `${withArticle(`\`${spec.targetType}\``)} record (target.type)`;
  const basis =
    spec.kind === 'update'
      ? 'State the record revision you decided on in basis.revision: if the record changed since, ' +
        'the call is refused with what changed, and you decide again on the current record ' +
        '(with a new idempotencyKey when the refusal names an action). '
      : '';
  return [
    does,
    `Target: ${target}.`,
    `Risk: ${risk}.`,
    spec.reversible
      ? 'Reversible: an operator can undo it.'
      : 'Not reversible: once executed it cannot be undone.',
    'The write is proposed to Airlock, not made directly: the params and target are validated, ' +
      `the record is read as it is now, policy rules apply, high-risk writes wait for a human. ${basis}` +
      'It is executed at most once per idempotencyKey. The answer says executed, queued, ' +
      'pending_approval (with the approval id) or why it was refused.',
  ].join(' ');
}

/** A tool as OpenAI's Chat Completions `tools` take it. */
export interface OpenAiTool {
  readonly type: 'function';
  readonly function: {
    readonly name: string;
    readonly description: string;
    readonly parameters: Record<string, unknown>;
  };
}

/** A tool as Anthropic's Messages API `tools` take it. */
export interface AnthropicTool {
  readonly name: string;
  readonly description: string;
  readonly input_schema: Record<string, unknown>;
}

export type ToolFormat = 'openai' | 'anthropic';
export const TOOL_FORMATS: readonly ToolFormat[] = ['openai', 'anthropic'];

/** The tools in a provider's function-calling shape. */
export function toolsForFormat(tools: readonly OperationTool[], format: 'openai'): OpenAiTool[];
export function toolsForFormat(
  tools: readonly OperationTool[],
  format: 'anthropic',
): AnthropicTool[];
export function toolsForFormat(
  tools: readonly OperationTool[],
  format: ToolFormat,
): OpenAiTool[] | AnthropicTool[];
export function toolsForFormat(
  tools: readonly OperationTool[],
  format: ToolFormat,
): OpenAiTool[] | AnthropicTool[] {
  if (format === 'openai') {
    return tools.map(
      (tool): OpenAiTool => ({
        type: 'function',
        function: {
          name: tool.name,
          description: tool.description,
          parameters: tool.inputSchema,
        },
      }),
    );
  }
  return tools.map((tool) => ({
    name: tool.name,
    description: tool.description,
    input_schema: tool.inputSchema,
  }));
}
