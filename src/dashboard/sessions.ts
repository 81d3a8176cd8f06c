import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../config.js';
import type { Operator } from '../http/operator-auth.js';
import type { Database, OpRunner, Store } from '../store/index.js';

/** Dashboard sign-ins, kept in the store so every instance of a gateway knows them. */
export interface Sessions {
  /** A new session for an operator who gave their token; the cookie's value. */
  start(operator: Operator & { readonly tokenSha256: string }): Promise<string>;
  /**
   * The operator of a session cookie, with the role the config gives them now; undefined when
   * the session is unknown, expired, or the operator's token has changed since (or they left).
   */
  find(cookie: string | undefined): Promise<Operator | undefined>;
  end(cookie: string | undefined): Promise<void>;
}

function digest(cookie: string): string {
  return createHash('sha256').update(cookie).digest('hex');
}

/** What a new session is stored as. */
export interface NewSession {
  readonly idSha256: string;
  readonly operator: string;
  readonly tokenSha256: string;
  readonly now: number;
  readonly expiresAt: number;
}

/** Stores a session; expired ones go first, so their number stays bounded without a job. */
export async function startSession(db: Kysely<Database>, session: NewSession): Promise<void> {
  await db.deleteFrom('operator_sessions').where('expires_at', '<=', session.now).execute();
  await db
    .insertInto('operator_sessions')
    .values({
      id_sha256: session.idSha256,
      operator: session.operator,
      token_sha256: session.tokenSha256,
      created_at: session.now,
      expires_at: session.expiresAt,
    })
    .execute();
}

export async function endSession(db: Kysely<Database>, idSha256: string): Promise<void> {
  await db.deleteFrom('operator_sessions').where('id_sha256', '=', idSha256).execute();
}

/**
 * The writes of signing in and out, as store ops (store/op-runner.ts): on SQLite in the writer
 * thread, so a sign-in never waits for the write lock on the event loop.
 */
export const sessionOps = { startSession, endSession };

export type SessionOps = OpRunner<typeof sessionOps>;

export function createSessions(
  store: Store,
  ops: SessionOps,
  operators: Config['operators'],
  options: { ttlMs: number; now: () => number },
): Sessions {
  return {
    async start(operator) {
      const cookie = randomBytes(32).toString('base64url');
      const now = options.now();
      await ops.run('startSession', {
        idSha256: digest(cookie),
        operator: operator.name,
        tokenSha256: operator.tokenSha256,
        now,
        expiresAt: now + options.ttlMs,
      });
      return cookie;
    },
    async find(cookie) {
      if (!cookie) return undefined;
      const row = await store.db
        .selectFrom('operator_sessions')
        .select(['operator', 'token_sha256', 'expires_at'])
        .where('id_sha256', '=', digest(cookie))
        .executeTakeFirst();
      if (!row || Number(row.expires_at) <= options.now()) return undefined;
      const configured = operators[row.operator];
      if (!configured || configured.tokenSha256 !== row.token_sha256) return undefined;
      return { name: row.operator, role: configured.role };
    },
    async end(cookie) {
      if (!cookie) return;
      await ops.run('endSession', digest(cookie));
    },
  };
}
