import type { ActionStatus, Store } from '../store/index.js';
import { type RefusedAction, triggerOfParams } from './model.js';

/** Action states that mean the action never executed and never will. */
export const REFUSED_STATUSES: readonly ActionStatus[] = [
  'stale',
  'denied',
  'rejected',
  'expired',
  'failed',
  'dead',
];

/**
 * The actions in Airlock's store that never executed (refused by policy or a person, stale, run
 * out, failed), oldest first, with the `[re:…]` comment or `[lead:…]` contact their params name,
 * for the checker to tell a false block from a lost event.
 */
export async function refusedActions(store: Store): Promise<RefusedAction[]> {
  const rows = await store.db
    .selectFrom('actions')
    .select(['id', 'operation', 'target', 'params', 'status'])
    .where('status', 'in', [...REFUSED_STATUSES])
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((row) => {
    const target = parseObject(row.target);
    const params = parseObject(row.params);
    return {
      operation: row.operation,
      target: { type: String(target.type ?? ''), id: String(target.id ?? '') },
      marker: triggerOfParams(params),
      status: row.status,
      action: row.id,
    };
  });
}

function parseObject(json: string): Record<string, unknown> {
  const value: unknown = JSON.parse(json);
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}
