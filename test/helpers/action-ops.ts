import { afterEach } from 'vitest';
import { ACTION_OPS_MODULE, type ActionOps, actionOps } from '../../src/actions/action-ops.js';
import { createOpRunner, type Store } from '../../src/store/index.js';
import { type Backend, createTestDatabase, type TestDatabase } from './stores.js';

/**
 * For a `describe` block: `open()` makes a database of the backend's, a store and the action ops
 * over it, run as the gateway runs them (on SQLite in the writer thread, batched). All closed,
 * and the database dropped, after each test.
 */
export function useActionOps(backend: Backend): () => Promise<{ store: Store; ops: ActionOps }> {
  let opened: { database: TestDatabase; store: Store; ops: ActionOps } | undefined;
  afterEach(async () => {
    await opened?.ops.close();
    await opened?.store.close();
    await opened?.database.drop();
    opened = undefined;
  });
  return async () => {
    const database = createTestDatabase(backend);
    const store = await database.open();
    opened = { database, store, ops: createOpRunner(store, actionOps, ACTION_OPS_MODULE) };
    return opened;
  };
}
