import { describe, expect, it } from 'vitest';
import { BACKENDS, useTestStores } from '../../test/helpers/stores.js';
import { preparedQuery } from './index.js';

const insertAgent = preparedQuery(
  (db, row: { name: string; key_sha256: string; operations: string; created_at: number }) =>
    db.insertInto('agents').values(row),
);
const agentNamed = preparedQuery((db, v: { name: string }) =>
  db.selectFrom('agents').selectAll().where('name', '=', v.name),
);
const updateAgent = preparedQuery(
  (db, { $name, ...patch }: { $name: string; operations?: string; key_sha256?: string }) =>
    db.updateTable('agents').set(patch).where('name', '=', $name),
);

describe.each(BACKENDS)('preparedQuery on %s', (backend) => {
  const stores = useTestStores(backend);

  it("runs each call with that call's values, on the store and in its transactions", async () => {
    const store = await stores.open();
    for (const name of ['a', 'b']) {
      await insertAgent(store.db, {
        name,
        key_sha256: `h-${name}`,
        operations: '[]',
        created_at: 1,
      });
    }
    await store.transaction((trx) =>
      insertAgent(trx, { name: 'c', key_sha256: 'h-c', operations: '[]', created_at: 2 }),
    );
    for (const name of ['a', 'b', 'c']) {
      expect((await agentNamed(store.db, { name })).rows).toMatchObject([
        { name, key_sha256: `h-${name}` },
      ]);
    }
    expect((await agentNamed(store.db, { name: 'd' })).rows).toEqual([]);
  });

  it('sets only the columns a call gives, whichever it gave first', async () => {
    const store = await stores.open();
    await insertAgent(store.db, { name: 'a', key_sha256: 'h', operations: '[]', created_at: 1 });
    const both = await updateAgent(store.db, { $name: 'a', operations: '["x"]', key_sha256: 'h2' });
    expect(Number(both.numAffectedRows)).toBe(1);
    await updateAgent(store.db, { $name: 'a', operations: '["y"]', key_sha256: undefined });
    expect((await agentNamed(store.db, { name: 'a' })).rows).toMatchObject([
      { operations: '["y"]', key_sha256: 'h2' },
    ]);
    await updateAgent(store.db, { $name: 'a', key_sha256: 'h3' });
    expect((await agentNamed(store.db, { name: 'a' })).rows).toMatchObject([
      { operations: '["y"]', key_sha256: 'h3' },
    ]);
    const none = await updateAgent(store.db, { $name: 'nobody', operations: '[]' });
    expect(Number(none.numAffectedRows)).toBe(0);
  });

  it('fails the promise, not the call, when the statement fails', async () => {
    const store = await stores.open();
    const row = { name: 'a', key_sha256: 'h', operations: '[]', created_at: 1 };
    await insertAgent(store.db, row);
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = insertAgent(store.db, row);
    }).not.toThrow();
    await expect(pending).rejects.toThrow(/unique|duplicate/i);
  });

  it("never runs inside another caller's transaction: a read sees only what was committed", async () => {
    const store = await stores.open();
    let inserted!: () => void;
    const insertedNow = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    let rollBack!: () => void;
    const rolledBackLater = new Promise<void>((resolve) => {
      rollBack = resolve;
    });
    const transaction = store
      .transaction(async (trx) => {
        await insertAgent(trx, { name: 'x', key_sha256: 'h', operations: '[]', created_at: 1 });
        inserted();
        await rolledBackLater;
        throw new Error('rolled back');
      })
      .catch((error: unknown) => error);
    await insertedNow;
    // Asked while the transaction holds its insert, answered from outside it.
    const read = agentNamed(store.db, { name: 'x' });
    setTimeout(rollBack, 20);
    expect((await read).rows).toEqual([]);
    expect(await transaction).toMatchObject({ message: 'rolled back' });
    expect((await agentNamed(store.db, { name: 'x' })).rows).toEqual([]);
  });
});
