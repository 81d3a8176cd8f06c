import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import { sha256, useTestGateways } from './helpers/gateway.js';

describe('GET /openapi.json', () => {
  const start = useTestGateways('sqlite');

  it('is a valid OpenAPI 3.1 document of every route, without authentication', async () => {
    const { app } = await start();
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    const result = await new Validator().validate(document);
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');

    const paths = document.paths as Record<string, Record<string, unknown>>;
    const routes = Object.entries(paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // Every route of the API (the dashboard's pages under /ui are not part of it).
    expect(routes.sort()).toEqual(
      [
        'POST /hooks/{source}',
        'POST /v1/actions',
        'GET /v1/actions/{id}',
        'POST /v1/actions/{id}/undo',
        'GET /v1/agents/me',
        'POST /v1/agents/{name}/enable',
        'GET /v1/records/{system}/{type}/{id}',
        'POST /v1/events/lease',
        'POST /v1/events/{id}/ack',
        'POST /v1/events/{id}/nack',
        'POST /v1/events/{id}/redeliver',
        'GET /v1/events',
        'GET /v1/events/{id}',
        'GET /v1/approvals',
        'GET /v1/approvals/{id}',
        'POST /v1/approvals/{id}/approve',
        'POST /v1/approvals/{id}/reject',
        'GET /v1/trace/{id}',
        'POST /mcp',
        'GET /mcp',
        'DELETE /mcp',
        'GET /openapi.json',
        'GET /healthz',
        'GET /readyz',
        'GET /metrics',
      ].sort(),
    );
    // And each is a route the gateway serves.
    for (const route of routes) {
      const [method, path] = route.split(' ') as [string, string];
      const url = path.replace(/\{(\w+)\}/g, ':$1').replace('/v1/trace/:id', '/v1/trace/*');
      expect(app.hasRoute({ method, url }), route).toBe(true);
    }
    expect(Object.keys(document.components.securitySchemes)).toEqual(['agentKey', 'operatorToken']);
    // The proposal body: one schema per operation, its params those of the catalogue.
    const body = paths['/v1/actions']?.post as {
      requestBody: { content: { 'application/json': { schema: { oneOf: unknown[] } } } };
    };
    expect(body.requestBody.content['application/json'].schema.oneOf).toHaveLength(
      OPERATION_NAMES.length,
    );
    const cancel = document.components.schemas.Proposal_order_cancel;
    expect(cancel.properties.operation).toEqual({ type: 'string', const: 'order.cancel' });
    expect(cancel.properties.params.required).toEqual(['reason']);
    expect(document.components.schemas.Delivery.required).toContain('basis');
    expect(document.components.schemas.Problem.required).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail']),
    );
  });

  it('documents the statuses the routes really answer, and only the routes served', async () => {
    const key = 'ak_openapi_agent';
    const { app } = await start({
      agents: { bot: { keySha256: sha256(key), operations: ['ticket.tag'] } },
      metrics: { enabled: false },
    });
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const documented = (method: string, path: string) =>
      Object.keys(document.paths[path]?.[method]?.responses ?? {});
    const answers: [string, string, string, Record<string, string>, string, number][] = [
      // [method, documented path, url, headers, body, the status it answers]
      [
        'post',
        '/v1/actions',
        '/v1/actions',
        {
          authorization: `Bearer ${key}`,
          'idempotency-key': 'k',
          'content-type': 'application/xml',
        },
        'x',
        415,
      ],
      [
        'post',
        '/mcp',
        '/mcp',
        { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'text/html' },
        '{}',
        406,
      ],
      [
        'post',
        '/mcp',
        '/mcp',
        {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        '[1',
        400,
      ],
      [
        'post',
        '/v1/events/lease',
        '/v1/events/lease',
        { authorization: `Bearer ${key}`, 'content-type': 'application/xml' },
        'x',
        415,
      ],
      ['get', '/v1/events', '/v1/events', { authorization: `Bearer ${key}` }, '', 401],
    ];
    for (const [method, path, url, headers, payload, status] of answers) {
      const answer = await app.inject({
        method: method.toUpperCase() as 'GET' | 'POST',
        url,
        headers,
        ...(payload ? { payload } : {}),
      });
      expect(answer.statusCode, `${method} ${url}`).toBe(status);
      expect(documented(method, path), `${method} ${url} ${answer.statusCode}`).toContain(
        String(answer.statusCode),
      );
    }
    // Every operator route can answer too many failed sign-ins; /metrics is off here.
    for (const [path, item] of Object.entries(
      document.paths as Record<string, Record<string, { security?: unknown; responses: object }>>,
    )) {
      for (const [method, operation] of Object.entries(item)) {
        if (JSON.stringify(operation.security) === JSON.stringify([{ operatorToken: [] }])) {
          expect(Object.keys(operation.responses), `${method} ${path}`).toContain('429');
        }
      }
    }
    expect(document.paths['/metrics']).toBeUndefined();
  });
});
