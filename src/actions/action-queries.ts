import { AppError } from '../errors.js';
import type { Store } from '../store/index.js';
import { type ActionView, toActionView } from './action-view.js';

/** One action; throws `action-not-found` (404). An agent sees only its own actions. */
export async function getAction(store: Store, id: string, agent?: string): Promise<ActionView> {
  let query = store.db.selectFrom('actions').selectAll().where('id', '=', id);
  if (agent !== undefined) query = query.where('agent', '=', agent);
  const row = await query.executeTakeFirst();
  if (!row)
    throw new AppError('action-not-found', 404, `no action ${id}`, { details: { action: id } });
  return toActionView(row);
}

/**
 * Puts a failed, dead or stale action back in the queue (`airlock actions retry`). The worker
 * re-reads the record and runs policy again before it executes; a record that moved on since the
 * action's basis is refused as stale again. Throws `action-not-found` or `not-retryable` (409).
 */
export async function retryAction(store: Store, id: string, now: number): Promise<ActionView> {
  const updated = await store.db
    .updateTable('actions')
    .set({ status: 'queued', next_attempt_at: now, attempts: 0, updated_at: now, error: null })
    .where('id', '=', id)
    .where('status', 'in', ['failed', 'dead'])
    .returningAll()
    .executeTakeFirst();
  if (updated) return toActionView(updated);
  const action = await getAction(store, id);
  throw new AppError(
    'not-retryable',
    409,
    `action ${id} is ${action.status}; only failed or dead actions are retried`,
    {
      details: { action: id, status: action.status },
    },
  );
}
