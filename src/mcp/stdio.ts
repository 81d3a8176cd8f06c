import { AirlockClient } from '../client/index.js';

/**
 * `airlock mcp`: MCP over stdio as the agent `key` names, its operations as tools, each call
 * proposed to the gateway at `url`; messages for people go to stderr. The MCP SDK is loaded when
 * this runs: no other command, `airlock start` included, holds it. Resolves once serving; the
 * process exits when stdin ends.
 */
export async function serveMcpOverStdio(options: { url: string; key: string }): Promise<void> {
  const [{ StdioServerTransport }, { createMcpServer }, { createRemoteBackend, fetchAgent }] =
    await Promise.all([
      import('@modelcontextprotocol/sdk/server/stdio.js'),
      import('./mcp-server.js'),
      import('./remote-backend.js'),
    ]);
  const agent = await fetchAgent(options.url, options.key);
  const client = new AirlockClient({ url: options.url, key: options.key });
  const server = createMcpServer(createRemoteBackend(client), agent, {
    onError: (error) =>
      process.stderr.write(`airlock mcp: ${(error as Error).message ?? String(error)}\n`),
  });
  // stdout carries the protocol: nothing else may be written to it.
  await server.connect(new StdioServerTransport());
  process.stderr.write(
    `airlock mcp: agent ${agent.name} with ${agent.operations.length} tools, gateway ${options.url}\n`,
  );
  process.stdin.once('end', () => {
    server.close().finally(() => process.exit(0));
  });
}
