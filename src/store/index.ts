export { migrate } from './migrate.js';
export type { Migration } from './migrations/index.js';
export { type OpenStoreOptions, openStore } from './open-store.js';
export type { Database, EventTable, WebhookRequestTable } from './schema.js';
export { openSqliteConnection } from './sqlite.js';
export type { Dialect, Store } from './store.js';
