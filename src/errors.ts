/**
 * The one error type Airlock throws on purpose. `code` is stable: it becomes the last segment of
 * the problem `type` on HTTP (`urn:airlock:problem:<code>`) and the error name on the CLI.
 */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: string;
  /** HTTP status the edge answers with. */
  readonly status: number;
  /** Extra members of the problem document: ids to follow up, what was wrong. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.code = code;
    this.status = status;
    this.details = options.details ?? {};
  }
}

/** Anything thrown, as an AppError: ours pass through, the rest become a 500 `internal`. */
export function coerceError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AppError('internal', 500, message, { cause: error });
}

/** The form an error takes when stored in a row or printed as JSON. */
export function serializeError(error: unknown): { name: string; message: string; code: string } {
  const appError = coerceError(error);
  const name = error instanceof Error ? error.name : 'Error';
  return { name, message: appError.message, code: appError.code };
}

/** A schema issue as zod reports it. */
interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** Schema issues as `path: message` lines; `root` names the value itself when the path is empty. */
export function describeIssues(issues: readonly Issue[], root: string): string[] {
  return issues.map((issue) => `${issue.path.map(String).join('.') || root}: ${issue.message}`);
}
