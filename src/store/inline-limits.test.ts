import { describe, expect, it } from 'vitest';
import { useTestStores } from '../../test/helpers/stores.js';
import { preparedQuery } from './index.js';
import type { Store } from './store.js';

const firstAgents = preparedQuery((db, v: { n: number }) =>
  db.selectFrom('agents').select('name').orderBy('name').limit(v.n),
);

describe('limits on SQLite', () => {
  const stores = useTestStores('sqlite');

  async function openWithAgents(): Promise<Store> {
    const store = await stores.open();
    await store.db
      .insertInto('agents')
      .values(
        ['a', 'b', 'c'].map((name) => ({
          name,
          key_sha256: name,
          operations: '[]',
          created_at: 1,
        })),
      )
      .execute();
    return store;
  }

  it('are written into the SQL when they are integers, so no statement is planned again', async () => {
    const { db } = await openWithAgents();
    const first = (n: number) => db.selectFrom('agents').select('name').orderBy('name').limit(n);
    const compiled = first(2).compile();
    expect(compiled.sql).toMatch(/ limit 2$/);
    expect(compiled.parameters).toEqual([]);
    expect(await first(2).execute()).toEqual([{ name: 'a' }, { name: 'b' }]);
    expect(await first(1).execute()).toEqual([{ name: 'a' }]);
  });

  it("stay parameters when they are prepared queries' stand-ins, each run with its own", async () => {
    const { db } = await openWithAgents();
    expect((await firstAgents(db, { n: 1 })).rows).toEqual([{ name: 'a' }]);
    expect((await firstAgents(db, { n: 3 })).rows).toHaveLength(3);
  });
});
