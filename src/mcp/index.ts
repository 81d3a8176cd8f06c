export { registerMcpRoute } from './http-route.js';
export { createLocalBackend } from './local-backend.js';
export {
  createMcpServer,
  type McpBackend,
  RECORD_URI_TEMPLATE,
  type ToolOutcome,
  toolResult,
} from './mcp-server.js';
export { createRemoteBackend, fetchAgent } from './remote-backend.js';
