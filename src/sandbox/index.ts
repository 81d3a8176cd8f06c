export {
  type ApiChaosKind,
  CHAOS_PRESETS,
  type ChaosKind,
  type ChaosOptions,
  type ChaosReport,
  type ChaosSettings,
  parseChaosSpec,
  type WebhookChaosKind,
} from './chaos.js';
export {
  createSandbox,
  DEFAULT_CRM_SECRET,
  DEFAULT_HELPDESK_SECRET,
  type Sandbox,
  type SandboxOptions,
} from './create-sandbox.js';
export { DEAL_STAGES } from './crm-properties.js';
export { DEMO_RECORDS } from './demo-records.js';
export type { Fault, FaultSpec } from './faults.js';
export { IDEMPOTENCY_TTL_MS } from './idempotency.js';
export type {
  Comment,
  CommentKind,
  CrmObject,
  CrmType,
  Discount,
  Order,
  OrderStatus,
  Ticket,
  TicketStatus,
} from './records.js';
export { CRM_TYPES, SANDBOX_TYPES } from './records.js';
export type { SeedInput, SeedResult } from './seed.js';
export type { Actor, AppliedWrite, FieldChange, SandboxState, SandboxSystem } from './state.js';
export type { Delivery } from './webhook-delivery.js';
export { HUBSPOT_APP_ID, HUBSPOT_PORTAL_ID } from './webhook-hubspot.js';
export { ZENDESK_ACCOUNT_ID } from './webhook-zendesk.js';
export type { WebhookUrls } from './webhooks.js';
