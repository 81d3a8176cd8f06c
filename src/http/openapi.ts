import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ACTION_STATUSES } from '../actions/action-view.js';
import { catalogue } from '../actions/catalogue.js';
import { proposalSchema } from '../actions/proposal.js';
import {
  ackResponseSchema,
  deliverySchema,
  leaseRequestSchema,
  leaseResponseSchema,
  nackRequestSchema,
  nackResponseSchema,
  recordViewSchema,
} from '../dispatch/wire.js';
import { VERSION } from '../version.js';

/**
 * `GET /openapi.json` (public): the HTTP API as an OpenAPI 3.1 document. Request and delivery
 * bodies come from the zod schemas the routes parse with; the answers that have no schema of
 * their own are described here.
 */
export function registerOpenApiRoute(app: FastifyInstance): void {
  let document: Record<string, unknown> | undefined;
  app.get('/openapi.json', async () => {
    document ??= servedOnly(openApiDocument(), app);
    return document;
  });
}

/** The document without the paths this gateway does not serve (`/metrics` when it is off). */
function servedOnly(document: Json, app: FastifyInstance): Json {
  if (app.hasRoute({ method: 'GET', url: '/metrics' })) return document;
  const { '/metrics': _, ...paths } = document.paths as Json;
  return { ...document, paths };
}

type Json = Record<string, unknown>;

/** JSON Schema 2020-12 of a zod schema, as OpenAPI 3.1 embeds it (without `$schema`). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'output'): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Json) => ({ 'application/json': { schema } });

/** The problem document every error answers with (RFC 9457). */
const problemSchema = z.looseObject({
  type: z.string().describe('`urn:airlock:problem:<code>`: stable, switch on it.'),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().describe('What went wrong, for a human.'),
  instance: z.string().describe('The request path.'),
  requestId: z.string().describe('Quote it when reporting a 5xx.'),
});

/** `ActionView` (src/actions/action-view.ts): an action as agents and operators see it. */
const actionViewSchema = z.strictObject({
  action: z.string().describe('The action id (`act_…`).'),
  status: z.enum(ACTION_STATUSES),
  operation: z.string(),
  target: z.unknown(),
  params: z.unknown(),
  basis: z.unknown(),
  verdict: z
    .unknown()
    .describe(
      'The policy verdict: `{ kind, rule, reason, risk }`, the risk as assessed on the record read.',
    ),
  approval: z.string().nullable().describe('The approval id when it waits or waited for a human.'),
  effect: z.unknown().describe('What the write changed: `{ before, after, ref, revision }`.'),
  error: z.unknown(),
  attempts: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** `DryRunView` (src/actions/propose-action.ts). */
const dryRunViewSchema = z.strictObject({
  dryRun: z.literal(true),
  outcome: z.enum(['execute', 'pending_approval']),
  verdict: z.unknown(),
  risk: z.string(),
  currentRevision: z.string().nullable(),
});

const agentSchema = z.strictObject({
  name: z.string(),
  operations: z.array(z.string()).describe('The operations this key may propose.'),
});

const hookAnswerSchema = z.strictObject({
  event: z.string().describe('The inbox event id (`evt_…`); of the first copy for a duplicate.'),
  duplicate: z.boolean(),
  events: z
    .array(z.strictObject({ event: z.string(), duplicate: z.boolean() }))
    .optional()
    .describe('When one request carried several events.'),
});

const approvalDecisionSchema = z.strictObject({
  comment: z.string().min(1).max(2000).optional(),
});

/** A component name of one operation's proposal: `Proposal_ticket_reply`. */
const proposalName = (operation: string) => `Proposal_${operation.replaceAll('.', '_')}`;

/** One proposal schema per operation, `operation` fixed and `params` that operation's. */
function proposalSchemas(): Json {
  const schemas: Json = {};
  for (const [name, spec] of catalogue) {
    schemas[proposalName(name)] = jsonSchema(
      proposalSchema.extend({
        operation: z.literal(name),
        params: spec.params,
      }),
      'input',
    );
  }
  return schemas;
}

const problemResponse = { $ref: '#/components/responses/Problem' };

/**
 * Adds to every operation the problems any of its kind can answer: a missing or unknown key or
 * token (401); for operators, a role too low (403) and too many failed sign-ins (429); for a
 * JSON body, one that does not parse or fit (400) or is not JSON at all (415).
 */
function withCommonProblems(paths: Record<string, Record<string, Json>>): Json {
  for (const item of Object.values(paths)) {
    for (const operation of Object.values(item)) {
      const statuses: number[] = [];
      if (operation.security === AGENT) statuses.push(401);
      if (operation.security === OPERATOR) statuses.push(401, 403, 429);
      const body = (operation.requestBody as { content?: Json } | undefined)?.content;
      if (body?.['application/json']) statuses.push(400, 415);
      const responses = operation.responses as Json;
      for (const status of statuses) responses[String(status)] ??= problemResponse;
    }
  }
  return paths;
}

/** Error answers by status, each the problem document. */
function problems(...statuses: number[]): Json {
  return Object.fromEntries(statuses.map((status) => [String(status), problemResponse]));
}

const pathId = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
  description,
});

const query = (name: string, schema: Json, description: string) => ({
  name,
  in: 'query',
  required: false,
  schema,
  description,
});

const AGENT = [{ agentKey: [] }];
const OPERATOR = [{ operatorToken: [] }];

/** The whole document. */
export function openApiDocument(): Json {
  const operations = [...catalogue.keys()];
  return {
    openapi: '3.1.0',
    info: {
      title: 'Airlock',
      version: VERSION,
      description:
        'A gateway between AI agents and the CRM, helpdesk and order systems they act on. ' +
        'Errors are RFC 9457 problem documents with a stable `type` per cause.',
    },
    servers: [{ url: '/' }],
    security: [],
    tags: [
      { name: 'webhooks' },
      { name: 'actions', description: 'Agents propose writes.' },
      { name: 'delivery', description: 'Agents pull events (lease, ack, nack).' },
      { name: 'operators', description: 'The inbox, approvals and traces.' },
      { name: 'mcp', description: 'The catalogue as MCP tools (Streamable HTTP, stateless).' },
    ],
    paths: withCommonProblems({
      '/hooks/{source}': {
        post: {
          tags: ['webhooks'],
          operationId: 'receiveWebhook',
          summary: 'Receive a webhook from a configured source',
          description:
            "Authenticated by the source's signature scheme over the raw bytes; answered only " +
            'after the event is committed.',
          parameters: [pathId('source', 'A source name from the config.')],
          requestBody: {
            required: true,
            content: { '*/*': { schema: {} } },
          },
          responses: {
            '202': { description: 'Stored.', content: json(ref('HookAnswer')) },
            '200': {
              description: 'A repeat of an event id already stored.',
              content: json(ref('HookAnswer')),
            },
            ...problems(400, 401, 404, 413),
          },
        },
      },
      '/v1/actions': {
        post: {
          tags: ['actions'],
          operationId: 'proposeAction',
          summary: 'Propose a write',
          description:
            'Validated, checked against the record as it is now (basis), policy, approval for ' +
            'high risk; executed at most once per Idempotency-Key. 409 `stale-basis` lists what ' +
            'changed; 403 `policy-denied` names the rule.',
          security: AGENT,
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: true,
              schema: { type: 'string', minLength: 1, maxLength: 255 },
              description: 'The same key with the same body replays the stored answer.',
            },
          ],
          requestBody: {
            required: true,
            content: json({
              oneOf: operations.map((name) => ref(proposalName(name))),
              discriminator: {
                propertyName: 'operation',
                mapping: Object.fromEntries(
                  operations.map((name) => [name, `#/components/schemas/${proposalName(name)}`]),
                ),
              },
            }),
          },
          responses: {
            '200': {
              description: 'Executed (or failed), or the answer of a dry run.',
              headers: { 'Idempotent-Replayed': { schema: { type: 'string', enum: ['true'] } } },
              content: json({ oneOf: [ref('Action'), ref('DryRun')] }),
            },
            '202': {
              description: '`pending_approval` or `queued`.',
              content: json(ref('Action')),
            },
            ...problems(400, 401, 403, 409, 422, 503),
          },
        },
      },
      '/v1/actions/{id}': {
        get: {
          tags: ['actions'],
          operationId: 'getAction',
          summary: "One of the agent's actions",
          security: AGENT,
          parameters: [pathId('id', 'The action id (`act_…`).')],
          responses: {
            '200': { description: 'The action.', content: json(ref('Action')) },
            ...problems(401, 404),
          },
        },
      },
      '/v1/actions/{id}/undo': {
        post: {
          tags: ['operators'],
          operationId: 'undoAction',
          summary: 'Undo an executed, reversible action (admin)',
          description:
            'Proposes the inverse operation through the same pipeline, keyed by the action: ' +
            'a second undo gets the first one replayed. 409 `not-undoable` when the action is ' +
            'not executed, not reversible, or its earlier values are unknown.',
          security: OPERATOR,
          parameters: [pathId('id', 'The action id (`act_…`).')],
          responses: {
            '200': { description: 'The undo, executed (or failed).', content: json(ref('Action')) },
            '202': { description: 'The undo, queued.', content: json(ref('Action')) },
            ...problems(401, 403, 404, 409),
          },
        },
      },
      '/v1/agents/me': {
        get: {
          tags: ['actions'],
          operationId: 'getAgent',
          summary: 'The agent this key belongs to, and what it may propose',
          security: AGENT,
          responses: {
            '200': { description: 'The agent.', content: json(ref('Agent')) },
            ...problems(401),
          },
        },
      },
      '/v1/records/{system}/{type}/{id}': {
        get: {
          tags: ['delivery'],
          operationId: 'readRecord',
          summary: 'A record as it is now, with its revision (state it as `basis.revision`)',
          security: AGENT,
          parameters: [
            pathId('system', 'A connector name from the config.'),
            pathId('type', 'The record type (ticket, contact, deal, order).'),
            pathId('id', 'The record id in that system.'),
          ],
          responses: {
            '200': { description: 'The record.', content: json(ref('RecordView')) },
            ...problems(401, 404, 422, 502),
          },
        },
      },
      '/v1/events/lease': {
        post: {
          tags: ['delivery'],
          operationId: 'leaseDeliveries',
          summary: "Take the agent's next deliveries (pull)",
          security: AGENT,
          requestBody: { required: false, content: json(ref('LeaseRequest')) },
          responses: {
            '200': {
              description: 'Deliveries, oldest first.',
              content: json(ref('LeaseResponse')),
            },
            ...problems(400, 401),
          },
        },
      },
      '/v1/events/{id}/ack': {
        post: {
          tags: ['delivery'],
          operationId: 'ackDelivery',
          summary: 'Acknowledge a delivery; the record’s next delivery may follow',
          security: AGENT,
          parameters: [pathId('id', 'The delivery id (`dlv_…`).')],
          responses: {
            '200': { description: 'Acknowledged.', content: json(ref('AckResponse')) },
            ...problems(401, 404, 409),
          },
        },
      },
      '/v1/events/{id}/nack': {
        post: {
          tags: ['delivery'],
          operationId: 'nackDelivery',
          summary: 'Give a delivery back, to be offered again after a delay',
          security: AGENT,
          parameters: [pathId('id', 'The delivery id (`dlv_…`).')],
          requestBody: { required: false, content: json(ref('NackRequest')) },
          responses: {
            '200': { description: 'Given back.', content: json(ref('NackResponse')) },
            ...problems(400, 401, 404, 409),
          },
        },
      },
      '/v1/events': {
        get: {
          tags: ['operators'],
          operationId: 'listEvents',
          summary: 'Inbox events, newest first (viewer)',
          security: OPERATOR,
          parameters: [
            query('source', { type: 'string' }, 'Only events from this source.'),
            query('record', { type: 'string' }, 'Only events about `system:type:id`.'),
            query('limit', { type: 'integer', minimum: 1, maximum: 500 }, 'Page size.'),
            query('cursor', { type: 'string' }, 'The previous page’s next cursor.'),
          ],
          responses: {
            '200': { description: 'A page of events.', content: json({ type: 'object' }) },
            ...problems(400, 401, 403),
          },
        },
      },
      '/v1/events/{id}': {
        get: {
          tags: ['operators'],
          operationId: 'getEvent',
          summary: 'One inbox event with its headers and payload (viewer)',
          security: OPERATOR,
          parameters: [pathId('id', 'The event id (`evt_…`).')],
          responses: {
            '200': { description: 'The event.', content: json({ type: 'object' }) },
            ...problems(401, 403, 404),
          },
        },
      },
      '/v1/events/{id}/redeliver': {
        post: {
          tags: ['operators'],
          operationId: 'redeliverEvent',
          summary: 'Hand an event (or one delivery) to its agents again (admin)',
          security: OPERATOR,
          parameters: [
            pathId('id', 'An event id (`evt_…`) or a delivery id (`dlv_…`).'),
            query('agent', { type: 'string' }, 'Only the delivery to this agent.'),
          ],
          responses: {
            '200': {
              description: 'How many deliveries were queued again.',
              content: json({ type: 'object' }),
            },
            ...problems(400, 401, 403, 404, 409),
          },
        },
      },
      '/v1/agents/{name}/enable': {
        post: {
          tags: ['operators'],
          operationId: 'enableAgent',
          summary: 'Resume push delivery to an agent its failures disabled (admin)',
          security: OPERATOR,
          parameters: [pathId('name', 'The agent name from the config.')],
          responses: {
            '200': { description: 'The agent, enabled.', content: json({ type: 'object' }) },
            ...problems(401, 403, 404),
          },
        },
      },
      '/v1/approvals': {
        get: {
          tags: ['operators'],
          operationId: 'listApprovals',
          summary: 'Approvals (viewer)',
          security: OPERATOR,
          parameters: [
            query('status', { type: 'string' }, 'Only approvals in this state.'),
            query('limit', { type: 'integer', minimum: 1, maximum: 500 }, 'Page size.'),
            query('cursor', { type: 'string' }, 'The previous page’s next cursor.'),
          ],
          responses: {
            '200': { description: 'A page of approvals.', content: json({ type: 'object' }) },
            ...problems(400, 401, 403),
          },
        },
      },
      '/v1/approvals/{id}': {
        get: {
          tags: ['operators'],
          operationId: 'getApproval',
          summary: 'One approval (viewer)',
          security: OPERATOR,
          parameters: [pathId('id', 'The approval id (`apr_…`).')],
          responses: {
            '200': { description: 'The approval.', content: json({ type: 'object' }) },
            ...problems(401, 403, 404),
          },
        },
      },
      ...Object.fromEntries(
        (['approve', 'reject'] as const).map((verb) => [
          `/v1/approvals/{id}/${verb}`,
          {
            post: {
              tags: ['operators'],
              operationId: `${verb}Approval`,
              summary:
                verb === 'approve'
                  ? 'Approve: the basis is checked again, then the write is queued (approver)'
                  : 'Reject: the action is not executed (approver)',
              security: OPERATOR,
              parameters: [pathId('id', 'The approval id (`apr_…`).')],
              requestBody: { required: false, content: json(ref('ApprovalDecision')) },
              responses: {
                '200': { description: 'The approval, decided.', content: json({ type: 'object' }) },
                ...problems(400, 401, 403, 404, 409),
              },
            },
          },
        ]),
      ),
      '/v1/trace/{id}': {
        get: {
          tags: ['operators'],
          operationId: 'getTrace',
          summary: 'The whole chain behind an id (viewer)',
          description:
            'Any event id, provider event id, action id, approval id, idempotency key or ' +
            '`system:type:id` (URL-encoded).',
          security: OPERATOR,
          parameters: [pathId('id', 'Any id of the chain.')],
          responses: {
            '200': { description: 'The trace.', content: json({ type: 'object' }) },
            ...problems(400, 401, 403, 404),
          },
        },
      },
      '/mcp': {
        post: {
          tags: ['mcp'],
          operationId: 'mcp',
          summary: 'MCP (Streamable HTTP, stateless): a JSON-RPC message, answered as JSON',
          description:
            'The tools are the operations the agent may propose; each call is a proposal ' +
            'through the same pipeline. Records are resources at ' +
            '`airlock://records/{system}/{type}/{id}`. Send ' +
            '`Accept: application/json, text/event-stream`.',
          security: AGENT,
          requestBody: { required: true, content: json({ type: 'object' }) },
          responses: {
            '200': { description: 'The JSON-RPC answer.', content: json({ type: 'object' }) },
            '202': { description: 'A notification or response, accepted.' },
            '406': { description: 'The Accept header names neither JSON nor an event stream.' },
            ...problems(400, 401),
          },
        },
        get: {
          tags: ['mcp'],
          operationId: 'mcpStream',
          summary: 'Not offered: the server sends no stream of its own (405)',
          security: AGENT,
          responses: { '405': { description: 'Method not allowed.' }, ...problems(401) },
        },
        delete: {
          tags: ['mcp'],
          operationId: 'mcpEndSession',
          summary: 'End a session (there are none: stateless)',
          security: AGENT,
          responses: { '200': { description: 'Done.' }, ...problems(401) },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'The process is up',
          responses: { '200': { description: 'Up.', content: json({ type: 'object' }) } },
        },
      },
      '/readyz': {
        get: {
          operationId: 'ready',
          summary: 'The store answers: ready for traffic',
          responses: {
            '200': { description: 'Ready.', content: json({ type: 'object' }) },
            ...problems(503),
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics in the text format (when `metrics.enabled`)',
          responses: {
            '200': { description: 'The metrics.', content: { 'text/plain': { schema: {} } } },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApi',
          summary: 'This document',
          responses: { '200': { description: 'OpenAPI 3.1.', content: json({ type: 'object' }) } },
        },
      },
    }),
    components: {
      securitySchemes: {
        agentKey: {
          type: 'http',
          scheme: 'bearer',
          description:
            "An agent's key (`airlock agents add` prints one, or `keySha256` in the config).",
        },
        operatorToken: {
          type: 'http',
          scheme: 'bearer',
          description: "An operator's token, with the role viewer, approver or admin.",
        },
      },
      responses: {
        Problem: {
          description: 'An RFC 9457 problem document.',
          content: { 'application/problem+json': { schema: ref('Problem') } },
        },
      },
      schemas: {
        Problem: jsonSchema(problemSchema),
        Proposal: jsonSchema(proposalSchema, 'input'),
        ...proposalSchemas(),
        Action: jsonSchema(actionViewSchema),
        DryRun: jsonSchema(dryRunViewSchema),
        Agent: jsonSchema(agentSchema),
        HookAnswer: jsonSchema(hookAnswerSchema),
        RecordView: jsonSchema(recordViewSchema),
        Delivery: jsonSchema(deliverySchema),
        LeaseRequest: jsonSchema(leaseRequestSchema, 'input'),
        LeaseResponse: jsonSchema(leaseResponseSchema),
        AckResponse: jsonSchema(ackResponseSchema),
        NackRequest: jsonSchema(nackRequestSchema, 'input'),
        NackResponse: jsonSchema(nackResponseSchema),
        ApprovalDecision: jsonSchema(approvalDecisionSchema, 'input'),
      },
    },
  };
}
