export {
  type CallFailure,
  type Connector,
  ConnectorCallError,
  type Effect,
  type ReconcileOutcome,
  type RecordRef,
  type RecordSnapshot,
  type WriteOutcome,
  type WriteRequest,
} from './connector.js';
export {
  createSandboxConnector,
  SANDBOX_OPERATIONS,
  type SandboxConnectorOptions,
} from './sandbox.js';
