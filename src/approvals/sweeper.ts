import type { ActionOps } from '../actions/action-ops.js';
import { actionIdOfApproval } from '../ids.js';
import type { Metrics } from '../metrics/index.js';
import type { Store } from '../store/index.js';

const SWEEP_EVERY_MS = 1_000;
const PER_SWEEP = 100;

/**
 * Ends approvals that ran out as `expired` (their actions too), every second; stop() ends it.
 * Several gateways may sweep one store: expiring is a compare-and-set, done once. stop() waits
 * for a sweep under way.
 */
export function startApprovalSweeper(deps: {
  store: Store;
  ops: ActionOps;
  now: () => number;
  metrics?: Metrics | undefined;
  /** Told of each action whose approval ran out. */
  onExpired?: (actionId: string) => void;
  onError: (error: unknown) => void;
}): () => Promise<void> {
  const sweep = async () => {
    const now = deps.now();
    const due = await deps.store.db
      .selectFrom('approvals')
      .select(['id', 'operation'])
      .where('status', '=', 'pending')
      .where('expires_at', '<=', now)
      .orderBy('expires_at')
      .limit(PER_SWEEP)
      .execute();
    for (const { id, operation } of due) {
      const result = await deps.ops.run('expireApproval', { id, now, dialect: deps.store.dialect });
      if (result.kind !== 'settled') continue;
      deps.metrics?.approvalOutcome('expired');
      deps.metrics?.actionOutcome(operation, 'expired');
      deps.onExpired?.(actionIdOfApproval(id));
    }
  };
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    running ??= sweep()
      .catch(deps.onError)
      .finally(() => {
        running = null;
      });
  }, SWEEP_EVERY_MS);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
