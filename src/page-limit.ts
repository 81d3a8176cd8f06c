import { AppError } from './errors.js';
import type { IdPrefix } from './ids.js';

/** The most items one page of a list holds. */
export const MAX_PAGE = 500;

/** Throws `invalid-query` (400) unless `limit` is a whole number from 1 to `MAX_PAGE`. */
export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new AppError(
      'invalid-query',
      400,
      `limit must be a whole number from 1 to ${MAX_PAGE}, got ${limit}`,
    );
  }
}

/**
 * Throws `invalid-query` (400) unless `cursor` is an id of the listed kind, as a page's next
 * cursor is: `prefix_` and 32 hex digits. Lists page by keyset on the id, so any other text
 * would be compared as an id and silently give some other page (`junk` sorts after every id:
 * the first page again).
 */
export function checkPageCursor(cursor: string | undefined, prefix: IdPrefix): void {
  if (cursor === undefined || new RegExp(`^${prefix}_[0-9a-f]{32}$`).test(cursor)) return;
  throw new AppError(
    'invalid-query',
    400,
    `cursor must be the next cursor a page printed (${prefix}_ and 32 hex digits), got ${JSON.stringify(cursor.slice(0, 80))}`,
  );
}
