import { z } from 'zod';
import { AppError } from '../errors.js';

/** An expected revision as a request may give it: a number or its decimal text. */
export const expectedRevisionSchema = z.union([
  z.number().int().nonnegative(),
  z
    .string()
    .regex(/^\d{1,15}$/, 'expected a revision number')
    .transform(Number),
]);

/**
 * Refuses a conditional write whose expected revision is not the record's current one (409
 * `stale-revision`), the way Zendesk refuses a `safe_update` whose `updated_stamp` is stale.
 * No expected revision means an unconditional write.
 */
export function checkExpectedRevision(
  record: { readonly revision: number },
  label: string,
  expected: number | undefined,
): void {
  if (expected === undefined || expected === record.revision) return;
  throw new AppError(
    'stale-revision',
    409,
    `${label} is at revision ${record.revision}, not ${expected}`,
    { details: { currentRevision: record.revision, expectedRevision: expected } },
  );
}
