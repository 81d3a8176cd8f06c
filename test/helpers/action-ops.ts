import { randomBytes } from 'node:crypto';
import { ACTION_OPS_MODULE, type ActionOps, actionOps } from '../../src/actions/action-ops.js';
import type { Proposal } from '../../src/actions/proposal.js';
import { canonicalDigest } from '../../src/canonical-json.js';
import { recordKey } from '../../src/connectors/connector.js';
import { firstIdAt } from '../../src/ids.js';
import {
  type ActionStatus,
  createOpRunner,
  type OpRunner,
  type OpTable,
  type Store,
} from '../../src/store/index.js';
import type { OpTableModule } from '../../src/store/op-runner.js';
import { type Backend, type TestDatabase, useTestStores } from './stores.js';

/**
 * For a `describe` block: `open()` makes a database of the backend's, a store and `table`'s ops
 * over it, run as the gateway runs them (on SQLite in the writer thread, batched). All closed,
 * and the database dropped, after each test (a second store the test opens on `database` is its
 * own to close).
 */
export function useStoreOps<T extends OpTable>(
  backend: Backend,
  table: T,
  where: OpTableModule,
): () => Promise<{ database: TestDatabase; store: Store; ops: OpRunner<T> }> {
  const stores = useTestStores(backend);
  return async () => {
    const store = await stores.open();
    const ops = stores.closedAfter(createOpRunner(store, table, where));
    return { database: stores.database, store, ops };
  };
}

/** `useStoreOps` with the action pipeline's ops. */
export function useActionOps(
  backend: Backend,
): () => Promise<{ database: TestDatabase; store: Store; ops: ActionOps }> {
  return useStoreOps(backend, actionOps, ACTION_OPS_MODULE);
}

/**
 * Accepts, through the outbox op, a `ticket.add_note` made at `at` (epoch ms: its id is of that
 * time) by `agent` on `record` (`system:type:id`), stored with `status` as it stands later. With
 * `approval`, it waits for a human (an approval row, pending). With `proposal`, it is that
 * proposal instead, under its key and fingerprint, as `POST /v1/actions` would accept it. Its id.
 */
export async function acceptActionAt(
  ops: Pick<ActionOps, 'run'>,
  store: Store,
  at: number,
  status: ActionStatus,
  options: {
    agent?: string;
    record?: string;
    approval?: boolean;
    proposal?: { readonly key: string; readonly body: Proposal };
  } = {},
): Promise<string> {
  const { agent = 'bot', approval = false, proposal } = options;
  const id = `${firstIdAt('act', at)}${randomBytes(10).toString('hex')}`;
  const [system = '', type = '', recordId = ''] = (options.record ?? 'helpdesk:ticket:1001').split(
    ':',
  );
  const target = proposal?.body.target ?? { system, type, id: recordId };
  const ref = { agent, key: proposal?.key ?? id };
  await ops.run('acceptAction', {
    ref,
    fingerprint: proposal ? canonicalDigest(proposal.body) : 'fp',
    lockMs: 30_000,
    action: {
      id,
      agent,
      idempotency_key: ref.key,
      operation: proposal?.body.operation ?? 'ticket.add_note',
      record_key: recordKey(target),
      target: JSON.stringify(target),
      params: JSON.stringify(proposal?.body.params ?? { body: 'noted' }),
      basis: proposal?.body.basis ? JSON.stringify(proposal.body.basis) : null,
      decision: null,
      status,
      verdict: null,
      expected_revision: proposal?.body.basis?.revision ?? null,
      effect: null,
      error: null,
      attempts: 0,
      next_attempt_at: at,
      lease_owner: null,
      lease_until: null,
      created_at: at,
      updated_at: at,
      sent_at: null,
    },
    target,
    rateLimits: [],
    approval: approval
      ? {
          paramsDigest: 'digest',
          policyVersion: 'v1',
          reason: 'a human decides',
          expiresAt: at + 3_600_000,
          recordFields: null,
        }
      : null,
    lease: null,
    dialect: store.dialect,
  });
  return id;
}
