import type { Kysely } from 'kysely';

// Two questions a proposal asks about its record in the commit that accepts it: is an action of
// it still open (queued or executing), and did one change since the proposal read the record?
// Both were answered by walking every action the record ever had (`actions_record`): a record
// with 10,000 actions took 1.5 ms per question, in the writer every proposal waits for. These
// indexes answer them, and the worker's "anything ahead on this record" check, in a lookup.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('actions_record_status')
    .on('actions')
    .columns(['record_key', 'status'])
    .execute();
  await db.schema
    .createIndex('actions_record_updated')
    .on('actions')
    .columns(['record_key', 'updated_at'])
    .execute();
}
