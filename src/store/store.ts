import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

/** An open database: SQLite (one file) or PostgreSQL (shared by several instances). */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: Dialect;
  /** The URL it was opened with (`sqlite:PATH` or `postgres://…`). */
  readonly url: string;
  /**
   * Runs `fn` in a write transaction. On SQLite it starts with `BEGIN IMMEDIATE`, so a second
   * process waits for the write lock instead of failing when a read upgrades to a write.
   */
  transaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Whether the database answers; for readiness checks. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
