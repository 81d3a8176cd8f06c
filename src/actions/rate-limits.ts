import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Database } from '../store/index.js';

/** A limit from the config: at most `max` accepted actions per scope within `windowMs`. */
export interface RateLimitRule {
  readonly name: string;
  readonly operations: readonly string[];
  /** `record`: per target record (one email per contact a day); `agent`: per agent. */
  readonly per: 'record' | 'agent';
  readonly max: number;
  readonly windowMs: number;
}

/** The `rateLimits:` of the config as rules. */
export function rateLimitRules(config: Config['rateLimits']): RateLimitRule[] {
  return config.map((limit) => ({
    name: limit.name,
    operations: limit.operations,
    per: limit.per,
    max: limit.max,
    windowMs: limit.window,
  }));
}

/**
 * Takes one slot of every limit that applies, in the transaction that accepts the action.
 * Slots are rows with a unique (rule, scope, slot) key, so two concurrent proposals cannot both
 * take the last one, on SQLite or across PostgreSQL instances. Throws `policy-denied` (403)
 * naming the limit and when a slot frees up.
 */
export async function takeRateLimitSlots(
  trx: Kysely<Database>,
  rules: readonly RateLimitRule[],
  action: { id: string; operation: string; agent: string; recordKey: string },
  now: number,
): Promise<void> {
  for (const rule of rules) {
    if (!rule.operations.includes(action.operation)) continue;
    const scope = rule.per === 'record' ? action.recordKey : action.agent;
    await trx
      .deleteFrom('rate_limit_slots')
      .where('rule', '=', rule.name)
      .where('scope', '=', scope)
      .where('expires_at', '<=', now)
      .execute();
    let taken = false;
    for (let slot = 0; slot < rule.max && !taken; slot++) {
      const inserted = await trx
        .insertInto('rate_limit_slots')
        .values({
          rule: rule.name,
          scope,
          slot,
          action_id: action.id,
          expires_at: now + rule.windowMs,
        })
        .onConflict((oc) => oc.columns(['rule', 'scope', 'slot']).doNothing())
        .executeTakeFirst();
      taken = Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
    }
    if (taken) continue;
    throw await rateLimitReached(trx, rule, scope, action.operation, now);
  }
}

/**
 * What `takeRateLimitSlots` would throw for `action` at `now`, read without taking anything:
 * null when every limit that applies has a slot free. For a dry run's verdict.
 */
export async function fullRateLimit(
  db: Kysely<Database>,
  rules: readonly RateLimitRule[],
  action: { operation: string; agent: string; recordKey: string },
  now: number,
): Promise<AppError | null> {
  for (const rule of rules) {
    if (!rule.operations.includes(action.operation)) continue;
    const scope = rule.per === 'record' ? action.recordKey : action.agent;
    const held = await db
      .selectFrom('rate_limit_slots')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('rule', '=', rule.name)
      .where('scope', '=', scope)
      .where('expires_at', '>', now)
      .executeTakeFirstOrThrow();
    if (Number(held.n) >= rule.max) {
      return rateLimitReached(db, rule, scope, action.operation, now);
    }
  }
  return null;
}

/** The `policy-denied` (403) of a full limit, naming it and when its first slot frees up. */
async function rateLimitReached(
  db: Kysely<Database>,
  rule: RateLimitRule,
  scope: string,
  operation: string,
  now: number,
): Promise<AppError> {
  const next = await db
    .selectFrom('rate_limit_slots')
    .select((eb) => eb.fn.min('expires_at').as('at'))
    .where('rule', '=', rule.name)
    .where('scope', '=', scope)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  const retryAfterSeconds = Math.max(1, Math.ceil((Number(next?.at ?? now) - now) / 1000));
  return new AppError(
    'policy-denied',
    403,
    `${rule.name}: at most ${rule.max} ${operation} per ${rule.per} in ${rule.windowMs / 1000} s`,
    { details: { rule: rule.name, reason: 'rate limit reached', retryAfterSeconds } },
  );
}

/** Gives back the slots of an action that ended without an effect (failed, stale, denied). */
export async function releaseRateLimitSlots(
  trx: Kysely<Database>,
  actionId: string,
): Promise<void> {
  await trx.deleteFrom('rate_limit_slots').where('action_id', '=', actionId).execute();
}
