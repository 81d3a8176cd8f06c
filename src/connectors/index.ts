export {
  type CallFailure,
  type Connector,
  ConnectorCallError,
  type Effect,
  MAX_RECORD_ID_LENGTH,
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
export { type ServedConnector, serveTypes } from './served-types.js';
