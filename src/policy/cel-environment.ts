import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import type { PolicyInput } from './policy.js';

/**
 * The CEL environment every rule is parsed and type-checked in: the four variables policy sees,
 * and nothing else, so a misspelt variable (`reocrd.x`) stops start-up instead of denying later.
 * Built once: an Environment is expensive to create.
 */
const environment = new Environment()
  .registerVariable('proposal', 'map<string, dyn>', {
    description: 'operation, target {system, type, id}, params, risk',
  })
  .registerVariable('record', 'dyn', {
    description: 'the target record as read just now; null for creates',
  })
  .registerVariable('agent', 'map<string, dyn>', { description: 'name, operations' })
  .registerVariable('now', 'google.protobuf.Timestamp', { description: 'evaluation time' })
  // CEL defines timestamp(timestamp) as the identity; the library lacks it. Record fields holding
  // date-times arrive as timestamps already, so `timestamp(record.createdAt)` must accept one.
  .registerFunction(
    'timestamp(google.protobuf.Timestamp): google.protobuf.Timestamp',
    (value: Date) => value,
  );

/** A CEL expression parsed and type-checked once, evaluated per proposal. */
export interface CompiledExpression {
  readonly source: string;
  readonly evaluate: ParseResult;
}

/** An error raised by the CEL library: `summary` is its one-line message, `range` where. */
interface CelError {
  readonly summary?: unknown;
  readonly range?: { readonly start: number } | undefined;
}

/** The library's one-line message for an error, without its multi-line source excerpt. */
export function describeCelError(error: unknown): string {
  if (error instanceof Error) {
    const { summary } = error as CelError;
    return typeof summary === 'string' && summary !== ''
      ? summary
      : (error.message.split('\n')[0] ?? error.message);
  }
  return String(error);
}

/**
 * Parses and type-checks `source`. Returns the compiled expression, or the problem: a syntax
 * error, an unknown variable, an operator applied to types it is not defined for, or a result
 * that can never be a bool. Results typed `dyn` (e.g. `proposal.params.flag`) pass: whether they
 * are bool is only known at evaluation, where anything else fails the rule.
 */
export function compileExpression(
  source: string,
): { ok: true; expression: CompiledExpression } | { ok: false; problem: string } {
  let evaluate: ParseResult;
  try {
    evaluate = environment.parse(source);
  } catch (error) {
    return { ok: false, problem: withPosition(error, source) };
  }
  const checked = evaluate.check();
  if (!checked.valid) return { ok: false, problem: withPosition(checked.error, source) };
  if (checked.type !== 'bool' && checked.type !== 'dyn') {
    return { ok: false, problem: `gives ${checked.type}, expected bool` };
  }
  return { ok: true, expression: { source, evaluate } };
}

function withPosition(error: unknown, source: string): string {
  const start = (error as CelError | undefined)?.range?.start;
  const where = typeof start === 'number' ? ` at column ${start + 1}` : '';
  return `${describeCelError(error)}${where} in ${JSON.stringify(source)}`;
}

/** The variables an expression is evaluated with, converted once per proposal. */
export type Activation = Readonly<Record<'proposal' | 'record' | 'agent' | 'now', unknown>>;

/**
 * `input` as CEL values. Objects become maps (JS `Map`, so a key such as `__proto__` in
 * agent-supplied params is just a key); JS numbers stay doubles, as in CEL's JSON mapping;
 * strings in `record` and `proposal.params` that are RFC 3339 date-times with an offset become
 * timestamps (see README.md).
 */
export function toActivation(input: PolicyInput): Activation {
  const { proposal, agent } = input;
  return {
    proposal: new Map<string, unknown>([
      ['operation', proposal.operation],
      [
        'target',
        new Map([
          ['system', proposal.target.system],
          ['type', proposal.target.type],
          ['id', proposal.target.id],
        ]),
      ],
      ['params', toCelValue(proposal.params)],
      ['risk', proposal.risk],
    ]),
    record: input.record === null ? null : toCelValue(input.record),
    agent: new Map<string, unknown>([
      ['name', agent.name],
      ['operations', [...agent.operations]],
    ]),
    now: new Date(input.now.getTime()),
  };
}

/** A JSON-like value as a CEL value: date-time strings → timestamps, objects → maps. */
export function toCelValue(value: unknown): unknown {
  if (typeof value === 'string') return parseDateTime(value) ?? value;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date || value instanceof Uint8Array) return value;
  if (Array.isArray(value))
    return value.map((item) => (item === undefined ? null : toCelValue(item)));
  const entries = value instanceof Map ? value.entries() : Object.entries(value);
  const map = new Map<unknown, unknown>();
  for (const [key, item] of entries) {
    // Absent, as JSON would have it: `has(record.x)` is false rather than x being null.
    if (item !== undefined) map.set(key, toCelValue(item));
  }
  return map;
}

const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 `date-time` (`2024-05-01T09:30:00Z`, `…T11:30:00.250+02:00`) as a Date, else
 * undefined. Dates without a time and times without an offset are not instants: left as strings.
 * Precision is milliseconds (JS Date); further fraction digits are dropped.
 */
export function parseDateTime(value: string): Date | undefined {
  const match = DATE_TIME.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second, , offsetHour, offsetMinute] = match.map(Number);
  if (
    month === undefined ||
    month < 1 ||
    month > 12 ||
    day === undefined ||
    day < 1 ||
    // Date.parse rolls 2024-02-30 over to March 1st; refuse it instead.
    day > new Date(Date.UTC(year ?? 0, month, 0)).getUTCDate() ||
    (hour ?? 0) > 23 ||
    (minute ?? 0) > 59 ||
    (second ?? 0) > 59 ||
    (offsetHour ?? 0) > 23 ||
    (offsetMinute ?? 0) > 59
  ) {
    return undefined;
  }
  const ms = Date.parse(value.toUpperCase());
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
