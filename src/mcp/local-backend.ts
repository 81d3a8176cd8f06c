import { type ProposeDeps, proposeAction } from '../actions/index.js';
import type { Agent } from '../agents/index.js';
import { readRecordView } from '../dispatch/record-view.js';
import type { RecordView } from '../dispatch/wire.js';
import { type McpBackend, problemAnswer } from './mcp-server.js';

/**
 * The gateway in this process: each call is `proposeAction` as `POST /v1/actions` runs it, for
 * the agent the MCP request authenticated as; a refusal is answered as its problem document.
 */
export function createLocalBackend(deps: ProposeDeps, agent: Agent): McpBackend {
  return {
    async propose(operation, body, idempotencyKey) {
      const answer = await proposeAction(deps, agent, idempotencyKey, { operation, ...body }, {});
      if (answer.kind === 'ok') return { status: answer.status, body: answer.body };
      return problemAnswer(answer.error);
    },
    readRecord(ref): Promise<RecordView> {
      return readRecordView(deps.connectors, ref, deps.now());
    },
  };
}
