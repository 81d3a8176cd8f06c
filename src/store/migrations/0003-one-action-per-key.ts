import type { Kysely } from 'kysely';

// The backstop for the idempotency claim: whatever happens to a key's claim, one agent's key
// can name one action only.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('actions_agent_idempotency_key')
    .on('actions')
    .columns(['agent', 'idempotency_key'])
    .unique()
    .execute();
}
