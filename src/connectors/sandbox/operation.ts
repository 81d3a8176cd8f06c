import type { z } from 'zod';
import type { ReconcileOutcome, RecordRef, WriteOutcome, WriteRequest } from '../connector.js';
import type { SandboxHttp } from './http.js';

/** What an operation needs: HTTP to the sandbox and the connector's system name for refs. */
export interface SandboxContext {
  readonly http: SandboxHttp;
  readonly system: string;
}

/** How one catalogue operation is carried out against the sandbox, and how it is reconciled. */
export interface SandboxOperation<P = Record<string, unknown>> {
  /** The record types the target may be. */
  readonly targetTypes: readonly string[];
  readonly params: z.ZodType<P>;
  execute(ctx: SandboxContext, request: WriteRequest, params: P): Promise<WriteOutcome>;
  /** Side-effect free: only reads. */
  reconcile(ctx: SandboxContext, request: WriteRequest, params: P): Promise<ReconcileOutcome>;
}

/** Declares an operation with its params' type inferred from the schema. */
export function defineOperation<S extends z.ZodType<Record<string, unknown>>>(operation: {
  readonly targetTypes: readonly string[];
  readonly params: S;
  execute(ctx: SandboxContext, request: WriteRequest, params: z.output<S>): Promise<WriteOutcome>;
  reconcile(
    ctx: SandboxContext,
    request: WriteRequest,
    params: z.output<S>,
  ): Promise<ReconcileOutcome>;
}): SandboxOperation {
  return operation as unknown as SandboxOperation;
}

/** A ref in this connector's system. */
export function refOf(ctx: SandboxContext, type: string, id: unknown): RecordRef {
  return { system: ctx.system, type, id: String(id) };
}

/** `fields` of `record`, absent ones as null: the before/after of an effect. */
export function pick(
  record: Readonly<Record<string, unknown>>,
  fields: readonly string[],
): Record<string, unknown> {
  return Object.fromEntries(fields.map((field) => [field, record[field] ?? null]));
}
