import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

/**
 * `POST /v1/actions` to `app` as the agent whose key is `agentKey`, under the Idempotency-Key
 * `key` (none when null, for the tests of its absence), `payload` as the body (a string is sent
 * as it is), with `headers` beside.
 */
export function postAction(
  app: FastifyInstance,
  agentKey: string,
  key: string | null,
  payload: Record<string, unknown> | string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/v1/actions',
    headers: {
      authorization: `Bearer ${agentKey}`,
      ...(key === null ? {} : { 'idempotency-key': key }),
      ...headers,
    },
    payload,
  });
}

/** A `ticket.set_status` proposal: `ticket` to `status`, decided on `revision`. */
export function setStatusProposal(
  ticket: { readonly id: string },
  status: string,
  revision: number | string,
): Record<string, unknown> {
  return {
    operation: 'ticket.set_status',
    target: { system: 'helpdesk', type: 'ticket', id: ticket.id },
    params: { status },
    basis: { revision: String(revision) },
  };
}
