import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Operator } from '../http/operator-auth.js';
import type { Store } from '../store/index.js';

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

export function createSessions(
  store: Store,
  operators: Config['operators'],
  options: { ttlMs: number; now: () => number },
): Sessions {
  return {
    async start(operator) {
      const cookie = randomBytes(32).toString('base64url');
      const now = options.now();
      // Expired sessions go when someone signs in: their number stays bounded without a job.
      await store.db.deleteFrom('operator_sessions').where('expires_at', '<=', now).execute();
      await store.db
        .insertInto('operator_sessions')
        .values({
          id_sha256: digest(cookie),
          operator: operator.name,
          token_sha256: operator.tokenSha256,
          created_at: now,
          expires_at: now + options.ttlMs,
        })
        .execute();
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
      await store.db
        .deleteFrom('operator_sessions')
        .where('id_sha256', '=', digest(cookie))
        .execute();
    },
  };
}
