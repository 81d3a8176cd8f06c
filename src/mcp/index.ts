// Light to import: the MCP SDK is loaded by the first MCP request, or by `airlock mcp`.
export { registerMcpRoute } from './http-route.js';
export { serveMcpOverStdio } from './stdio.js';
