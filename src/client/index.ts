/**
 * The TypeScript client of the Airlock gateway, for agents: `import { AirlockClient } from
 * 'airlock/client'`. Depends on nothing but Node (≥ 20) builtins and the global `fetch`.
 */
export type { ActionView } from '../actions/action-view.js';
export type { OperationName, OperationParams } from '../actions/catalogue.js';
export type { DryRunView } from '../actions/propose-action.js';
export type {
  AckResponse,
  DeliveredEvent,
  Delivery,
  DeliveryContext,
  LeaseRequest,
  NackRequest,
  NackResponse,
  RecordView,
  SkippedEvent,
} from '../dispatch/wire.js';
export { AirlockClient, type AirlockClientOptions } from './airlock-client.js';
export { AirlockError, type AirlockProblem } from './airlock-error.js';
export type { ConsumeErrorContext, ConsumeOptions } from './consume-deliveries.js';
export { deriveIdempotencyKey, type IdempotencyKeySource } from './idempotency-key.js';
export type {
  ProposalAccepted,
  ProposalDryRun,
  ProposalInput,
  ProposalRefused,
  ProposalResult,
  RecordRef,
  RefusalCode,
  RefusalDetails,
} from './proposal-result.js';
export {
  type ActionOutcomeMessage,
  type DeliveryHeaders,
  DeliveryVerificationError,
  type PushedMessage,
  type VerifyDeliveryOptions,
  verifyDelivery,
} from './verify-delivery.js';
