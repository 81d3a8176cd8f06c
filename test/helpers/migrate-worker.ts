// A separate gateway instance starting up: opens the store at argv[2] and runs one extra
// migration that is slow enough for concurrent starts to overlap.
import { sql } from 'kysely';
import { migrate, openStore } from '../../src/store/index.js';

const store = await openStore(process.argv[2] ?? '');
try {
  const applied = await migrate(store, [
    {
      name: 'probe',
      up: async (db) => {
        await sql`create table probe (runs integer not null)`.execute(db);
        await sql`insert into probe (runs) values (1)`.execute(db);
        await new Promise((resolve) => setTimeout(resolve, 300));
      },
    },
  ]);
  process.stdout.write(JSON.stringify(applied));
} finally {
  await store.close();
}
