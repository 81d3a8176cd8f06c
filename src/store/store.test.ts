import { type Kysely, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { BACKENDS, useTestStores } from '../../test/helpers/stores.js';
import { runTs } from '../../test/helpers/subprocess.js';
import { migrate, sqliteFile } from './index.js';
import { migrations } from './migrations/index.js';
import { openWriterConnection } from './sqlite-connection.js';

describe.each(BACKENDS)('store on %s', (backend) => {
  const stores = useTestStores(backend);
  const open = () => stores.open();

  it('migrates a new database and records each migration once', async () => {
    const store = await open();
    const rows = await store.db.selectFrom('airlock_migrations').select('name').execute();
    expect(rows.map((row) => row.name)).toEqual(migrations.map((migration) => migration.name));
    expect(rows[0]?.name).toBe('0001-inbox');
    expect(await migrate(store)).toEqual([]);
    expect(await store.ping()).toBe(true);
  });

  it('applies each migration exactly once when several instances start at once', async () => {
    const starts = await Promise.all(
      Array.from({ length: 4 }, () =>
        runTs('test/helpers/migrate-worker.ts', [stores.database.url]),
      ),
    );
    for (const start of starts) expect(start.stderr).toBe('');
    expect(starts.map((start) => start.code)).toEqual([0, 0, 0, 0]);
    expect(starts.flatMap((start) => JSON.parse(start.stdout))).toEqual(['probe']);
    const store = await open();
    const probe = await sql<{ runs: number }>`select runs from probe`.execute(store.db);
    expect(probe.rows).toEqual([{ runs: 1 }]);
  });

  it('rolls a failed migration back whole, so the next start retries it', async () => {
    const store = await open();
    const failing = [
      {
        name: 'half',
        up: async (db: Kysely<unknown>) => {
          await db.schema.createTable('half_done').addColumn('id', 'integer').execute();
          throw new Error('boom');
        },
      },
    ];
    await expect(migrate(store, failing)).rejects.toThrow('boom');
    const recorded = await store.db.selectFrom('airlock_migrations').select('name').execute();
    expect(recorded.map((row) => row.name)).not.toContain('half');
    await expect(sql`select * from half_done`.execute(store.db)).rejects.toThrow();
  });
});

describe('sqlite durability settings', () => {
  const stores = useTestStores('sqlite');

  it('runs in WAL mode with synchronous=FULL, so a commit is on disk when it returns', async () => {
    const store = await stores.open();
    const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
    const synchronous = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
    expect(journal.rows[0]?.journal_mode).toBe('wal');
    expect(synchronous.rows[0]?.synchronous).toBe(2);
  });

  it("opens a writer thread's connection with checkpoints left to the checkpoint thread, statement journals in memory and a 4 MB page cache", async () => {
    const store = await stores.open();
    const writer = stores.closedAfter(openWriterConnection(sqliteFile(store)), (each) =>
      each.close(),
    );
    expect(writer.pragma('synchronous', { simple: true })).toBe(2);
    expect(writer.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    // 2: MEMORY (the default, 0, spills a journal past 64 KiB to a temporary file).
    expect(writer.pragma('temp_store', { simple: true })).toBe(2);
    // Negative: KiB. better-sqlite3's own default is 16,000 KiB.
    expect(writer.pragma('cache_size', { simple: true })).toBe(-4000);
  });
});
