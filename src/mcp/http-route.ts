import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ProposeDeps } from '../actions/index.js';
import { authenticateAgent } from '../agents/index.js';
import type { Config } from '../config.js';

/**
 * The MCP SDK and our server on it, loaded by the first MCP request: a gateway that no agent
 * talks MCP to does not hold them (about 25 MB of the process's memory).
 */
let mcpModules:
  | Promise<
      [
        typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
        typeof import('./mcp-server.js'),
        typeof import('./local-backend.js'),
      ]
    >
  | undefined;
function loadMcp() {
  if (!mcpModules) {
    mcpModules = Promise.all([
      import('@modelcontextprotocol/sdk/server/streamableHttp.js'),
      import('./mcp-server.js'),
      import('./local-backend.js'),
    ]);
    // A failed load is tried again by the next request, not kept.
    mcpModules.catch(() => {
      mcpModules = undefined;
    });
  }
  return mcpModules;
}

/**
 * MCP over Streamable HTTP at `/mcp`, stateless: each POST gets a new server for the agent its
 * `Authorization: Bearer <agent key>` names, answered as JSON. A bad key is a 401 problem before
 * any MCP handling. There is no server-initiated stream, so GET is 405, as the spec allows.
 */
export function registerMcpRoute(
  app: FastifyInstance,
  deps: { config: Pick<Config, 'agents'>; propose: ProposeDeps },
): void {
  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    const agent = await authenticateAgent(
      deps.propose.store,
      deps.config.agents,
      request.headers.authorization,
    );
    const [{ StreamableHTTPServerTransport }, { createMcpServer }, { createLocalBackend }] =
      await loadMcp();
    const server = createMcpServer(createLocalBackend(deps.propose, agent), agent, {
      limits: deps.propose.limits,
      onError: (err) => request.log.error({ err, agent: agent.name }, 'MCP tool call failed'),
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    reply.hijack();
    reply.raw.once('close', () => {
      transport.close().catch(() => {});
      server.close().catch(() => {});
    });
    try {
      await server.connect(transport);
      await transport.handleRequest(request.raw, reply.raw, request.body);
    } catch (err) {
      request.log.error({ err, agent: agent.name }, 'MCP request failed');
      if (!reply.raw.headersSent) {
        reply.raw.writeHead(500, { 'content-type': 'application/json' });
        reply.raw.end(
          JSON.stringify({
            jsonrpc: '2.0',
            error: { code: -32603, message: `internal error; quote request ${request.id}` },
            id: null,
          }),
        );
      }
    }
  };

  app.post('/mcp', handle);
  app.delete('/mcp', handle);
  app.get('/mcp', async (request, reply) => {
    await authenticateAgent(deps.propose.store, deps.config.agents, request.headers.authorization);
    return reply
      .code(405)
      .header('allow', 'POST, DELETE')
      .send({
        jsonrpc: '2.0',
        error: { code: -32000, message: 'this server sends no stream: POST requests only' },
        id: null,
      });
  });
}
