export type {
  Connector,
  Effect,
  ReconcileOutcome,
  RecordRef,
  RecordSnapshot,
  WriteOutcome,
  WriteRequest,
} from './connector.js';
export {
  createSandboxConnector,
  SANDBOX_OPERATIONS,
  type SandboxConnectorOptions,
} from './sandbox.js';
