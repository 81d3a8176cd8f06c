export { inBatches } from './batches.js';
export { startCheckpointer } from './checkpointer.js';
export { migrate } from './migrate.js';
export type { Migration } from './migrations/index.js';
export { createOpRunner, type OpRunner, type OpTable } from './op-runner.js';
export { type OpenStoreOptions, openStore, sqliteFile, sqlitePath } from './open-store.js';
export { preparedQuery } from './prepared-query.js';
export type {
  ActionStatus,
  ActionTable,
  ActivityCountTable,
  ActivityKind,
  AgentTable,
  ApprovalStatus,
  ApprovalTable,
  AuditKind,
  AuditTable,
  Database,
  DeliveryStatus,
  DeliveryTable,
  EventTable,
  IdempotencyKeyTable,
  RateLimitSlotTable,
  WebhookRequestTable,
} from './schema.js';
export { openSqliteConnection } from './sqlite-connection.js';
export { type SqliteWriter, sqliteWriter, type WriterJob, writerJob } from './sqlite-writer.js';
export type { Dialect, Store } from './store.js';
