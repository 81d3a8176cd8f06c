import { AppError } from '../errors.js';

/**
 * The longest record id (UTF-16 code units) the gateway takes in a proposal's target and hands a
 * connector; a connector must be able to read any id up to it (the sandbox takes it in a path).
 */
export const MAX_RECORD_ID_LENGTH = 500;

/** A record in an external system: `system` is the connector's name in the config. */
export interface RecordRef {
  readonly system: string;
  readonly type: string;
  readonly id: string;
}

/**
 * The key a record's actions and deliveries are ordered by: `system:type:id`. A system is a
 * config name (no `:`), and the id, last, may hold `:`; a type from a webhook may hold one too,
 * so `%` and `:` in it are escaped (`%25`, `%3A`), and no two records share a key. Never parsed
 * back: the record is read from the rows that name it.
 */
export function recordKey(ref: RecordRef): string {
  const type = ref.type.replaceAll('%', '%25').replaceAll(':', '%3A');
  return `${ref.system}:${type}:${ref.id}`;
}

/** A record as read now, with the revision a later write can be checked against. */
export interface RecordSnapshot {
  readonly ref: RecordRef;
  /** Opaque, compared for equality only; changes on every write to the record. */
  readonly revision: string;
  /** The record's fields as the system returns them (what policies see as `record`). */
  readonly data: Readonly<Record<string, unknown>>;
}

/** One write, as the outbox worker hands it to a connector. */
export interface WriteRequest {
  /** Catalogue operation name, e.g. `ticket.set_status`. */
  readonly operation: string;
  readonly target: RecordRef;
  readonly params: Readonly<Record<string, unknown>>;
  /** Unique per proposed action; carried to the system wherever it can hold one. */
  readonly idempotencyKey: string;
  /** Airlock's action id: written as a marker where the system allows, for reconcile and echo. */
  readonly actionId: string;
  /** The revision the action was checked against; null for creates. */
  readonly expectedRevision: string | null;
}

/** What a write did to the record: what changed, and the revision after it. */
export interface Effect {
  readonly before: Readonly<Record<string, unknown>> | null;
  readonly after: Readonly<Record<string, unknown>>;
  /** The record the write landed on (a create's new record). */
  readonly ref: RecordRef;
  readonly revision: string;
}

/**
 * The outcome of a write. The connector says what the caller should do next:
 * - `applied`: done, with its effect;
 * - `conflict`: the system refused it because the record moved on (409/412); re-read, refuse stale;
 * - `permanent`: will never succeed as sent (4xx other than 408/409/429);
 * - `retry`: did not happen; try again after `retryAfterMs` if given (5xx, 429, connection refused);
 * - `ambiguous`: the request was sent and may have landed (timeout, connection reset after
 *   sending); the caller must `reconcile` before any retry.
 */
export type WriteOutcome =
  | { readonly kind: 'applied'; readonly effect: Effect; readonly status: number }
  | { readonly kind: 'conflict'; readonly status: number; readonly message: string }
  | { readonly kind: 'permanent'; readonly status: number; readonly message: string }
  | {
      readonly kind: 'retry';
      readonly status: number | null;
      readonly message: string;
      readonly retryAfterMs: number | null;
    }
  | { readonly kind: 'ambiguous'; readonly message: string };

/** What reconciling an ambiguous write found. */
export type ReconcileOutcome =
  | { readonly kind: 'applied'; readonly effect: Effect }
  | { readonly kind: 'not_applied' }
  /** The system could not be asked (down, rate-limited): reconcile again later. */
  | { readonly kind: 'unknown'; readonly message: string; readonly failure: CallFailure };

/**
 * How a call to a system failed: the HTTP status it answered, `timeout` (sent, no complete answer
 * in time: a write's outcome is unknown) or `unsent` (never reached it: connection refused, DNS).
 */
export type CallFailure = number | 'timeout' | 'unsent';

/** What `read` and `related` throw when the system did not answer with the record. */
export class ConnectorCallError extends AppError {
  readonly failure: CallFailure;
  constructor(
    failure: CallFailure,
    code: string,
    status: number,
    message: string,
    options: { details?: Record<string, unknown> } = {},
  ) {
    super(code, status, message, options);
    this.failure = failure;
  }
}

/** One adapter per external system. Small on purpose: everything else is Airlock's. */
export interface Connector {
  /**
   * The record as it is now, or null when it does not exist. Throws a `ConnectorCallError` when
   * the system did not answer with it (down, rate-limited, timed out).
   */
  read(ref: RecordRef): Promise<RecordSnapshot | null>;
  /** Executes one write; never throws for an HTTP or transport failure, answers an outcome. */
  execute(request: WriteRequest): Promise<WriteOutcome>;
  /** Whether a write whose outcome was ambiguous landed, found by its key or marker. */
  reconcile(request: WriteRequest): Promise<ReconcileOutcome>;
  /** Records the connector declares related to `ref` (a ticket's requester contact). Throws as `read`. */
  related(ref: RecordRef): Promise<RecordRef[]>;
  /**
   * Throws (422 `invalid-target`) when a record like `ref` is not this connector's to read or
   * write, before anything is asked of the system: a create proposed through the wrong name.
   */
  checkTarget?(ref: RecordRef): void;
}
