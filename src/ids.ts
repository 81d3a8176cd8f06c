import { v7 as uuidv7 } from 'uuid';

export type IdPrefix = 'evt' | 'req' | 'act' | 'apr' | 'dlv';

/**
 * A new id: `prefix_` and a UUIDv7 in hex. UUIDv7 starts with the time in milliseconds, so ids
 * sort in the order they were made (within one process, strictly), which keyset pagination and
 * pruning by age rely on.
 */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${uuidv7().replaceAll('-', '')}`;
}

/** The lowest possible id made at `epochMs`: every id made before it sorts below. */
export function firstIdAt(prefix: IdPrefix, epochMs: number): string {
  return `${prefix}_${Math.max(0, Math.floor(epochMs)).toString(16).padStart(12, '0')}`;
}

/**
 * The approval of an action shares its id's time and randomness: `act_X` is approved as `apr_X`.
 * Either id finds the other without a lookup.
 */
export function approvalIdOf(actionId: string): string {
  return `apr_${actionId.slice('act_'.length)}`;
}

export function actionIdOfApproval(approvalId: string): string {
  return `act_${approvalId.slice('apr_'.length)}`;
}
