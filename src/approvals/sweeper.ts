import type { ActionOps } from '../actions/action-ops.js';
import { actionIdOfApproval } from '../ids.js';
import type { Metrics } from '../metrics/index.js';
import type { Dialect } from '../store/index.js';

const SWEEP_EVERY_MS = 1_000;
const PER_SWEEP = 100;

/**
 * Ends approvals that ran out as `expired` (their actions too), every second; stop() ends it.
 * Several gateways may sweep one store: expiring is a compare-and-set, done once. stop() waits
 * for a sweep under way.
 */
export function startApprovalSweeper(deps: {
  ops: ActionOps;
  dialect: Dialect;
  now: () => number;
  metrics?: Metrics | undefined;
  /** Told of each action whose approval ran out. */
  onExpired?: (actionId: string) => void;
  onError: (error: unknown) => void;
}): () => Promise<void> {
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    running ??= deps.ops
      .run('expireApprovals', { now: deps.now(), limit: PER_SWEEP, dialect: deps.dialect })
      .then((expired) => {
        for (const { id, operation } of expired) {
          deps.metrics?.approvalOutcome('expired');
          deps.metrics?.actionOutcome(operation, 'expired');
          deps.onExpired?.(actionIdOfApproval(id));
        }
      }, deps.onError)
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
