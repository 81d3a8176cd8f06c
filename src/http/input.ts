import type { z } from 'zod';
import { AppError, describeIssues } from '../errors.js';

/**
 * `value` parsed by `schema`, or a 400 naming every problem at its place under `root`
 * (`query.limit: …`): `invalid-query` for a query string, `invalid-request` for a body.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  root: 'query' | 'body',
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = describeIssues(parsed.error.issues, root);
  throw new AppError(
    root === 'query' ? 'invalid-query' : 'invalid-request',
    400,
    problems.join('; '),
    {
      details: { problems },
    },
  );
}
