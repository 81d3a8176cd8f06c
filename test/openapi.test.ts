import { Validator } from '@seriousme/openapi-schema-validator';
import { describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import { useTestGateways } from './helpers/gateway.js';

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
});
