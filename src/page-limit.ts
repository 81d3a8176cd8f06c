import { AppError } from './errors.js';

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
