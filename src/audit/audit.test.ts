import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { BACKENDS, useTestStores } from '../../test/helpers/stores.js';
import { canonicalJson } from '../canonical-json.js';
import { openSqliteConnection, type Store, sqliteFile } from '../store/index.js';
import {
  type AuditEntry,
  type AuditLine,
  appendAudit,
  canonicalEntry,
  createSqliteAuditAppender,
  exportAudit,
  GENESIS_HASH,
  hashEntry,
  verifyAudit,
} from './index.js';

describe.each(BACKENDS)('audit log on %s', (backend) => {
  const stores = useTestStores(backend);
  const open = () => stores.open();
  const append = (store: Store, entry: AuditEntry) =>
    store.transaction((trx) => appendAudit(trx, entry, store.dialect));
  const appendMany = async (store: Store, count: number, at = (i: number) => 1_000 + i) => {
    for (let i = 1; i <= count; i += 1) {
      await append(store, {
        kind: 'event',
        subject: `evt_${i}`,
        change: 'received',
        data: { n: i },
        at: at(i),
      });
    }
  };
  const run = (store: Store, text: string) => sql.raw(text).execute(store.db);

  it('chains appends: each entry hashes the previous hash and its canonical form', async () => {
    const store = await open();
    expect(await verifyAudit(store.db)).toEqual({
      ok: true,
      checked: 0,
      head: { seq: 0, hash: GENESIS_HASH },
    });
    const first = await append(store, {
      kind: 'action',
      subject: 'act_1',
      change: 'accepted',
      data: { z: 1, a: { y: [1, 2], b: 'x' } },
      at: 1_700_000_000_000,
    });
    const second = await append(store, { kind: 'approval', subject: 'apr_1', change: 'approved' });
    expect([first.seq, second.seq]).toEqual([1, 2]);

    const rows = await store.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
    expect(rows[0]).toMatchObject({
      seq: 1,
      at: 1_700_000_000_000,
      data: '{"a":{"b":"x","y":[1,2]},"z":1}',
      prev_hash: GENESIS_HASH,
      hash: first.hash,
    });
    expect(rows[1]).toMatchObject({ seq: 2, data: '{}', prev_hash: first.hash, hash: second.hash });
    // The documented form, so an export can be checked without this code.
    const canonical =
      '{"at":1700000000000,"change":"accepted","data":{"a":{"b":"x","y":[1,2]},"z":1},' +
      '"kind":"action","seq":1,"subject":"act_1"}';
    expect(canonicalEntry(rows[0] as NonNullable<(typeof rows)[0]>)).toBe(canonical);
    expect(first.hash).toBe(
      createHash('sha256').update(`${GENESIS_HASH}\n${canonical}`).digest('hex'),
    );
    expect(await verifyAudit(store.db)).toEqual({ ok: true, checked: 2, head: second });
  });

  it('keeps one contiguous chain under 20 concurrent appends from two instances', async () => {
    // Two SQLite stores in one process would wait on each other's write lock inside one event
    // loop; across processes SQLite serialises writers with the lock itself.
    const stores = backend === 'postgres' ? [await open(), await open()] : [await open()];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => {
        const store = stores[i % stores.length] as Store;
        return store.transaction(async (trx) => {
          // Some work in the transaction before the append, as a state change has.
          await trx.selectFrom('events').select('id').limit(1).execute();
          const head = await appendAudit(
            trx,
            { kind: 'execution', subject: `act_${i}`, change: 'executed', data: { i } },
            store.dialect,
          );
          // Hold the transaction open after appending: a racing append must wait for the commit.
          await new Promise((resolve) => setTimeout(resolve, 2));
          return head;
        });
      }),
    );
    const seqs = await (stores[0] as Store).db
      .selectFrom('audit_log')
      .select('seq')
      .orderBy('seq')
      .execute();
    expect(seqs.map((row) => row.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(await verifyAudit((stores[0] as Store).db, { pageSize: 7 })).toMatchObject({
      ok: true,
      checked: 20,
    });
  });

  it('rolls the entry back with the change it records', async () => {
    const store = await open();
    await appendMany(store, 2);
    await expect(
      store.transaction(async (trx) => {
        const entry: AuditEntry = { kind: 'event', subject: 'evt_x', change: 'received' };
        await appendAudit(trx, entry, store.dialect);
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    await append(store, { kind: 'event', subject: 'evt_3', change: 'received' });
    expect(await verifyAudit(store.db)).toMatchObject({ ok: true, checked: 3 });
  });

  it('finds a changed row at its seq', async () => {
    const store = await open();
    await appendMany(store, 5);
    await run(store, `update audit_log set data = '{"n":33}' where seq = 3`);
    expect(await verifyAudit(store.db, { pageSize: 2 })).toMatchObject({
      ok: false,
      checked: 2,
      seq: 3,
      problem: 'changed',
    });
  });

  it('finds a change to any hashed column, whitespace included', async () => {
    const store = await open();
    await appendMany(store, 4);
    const original = await store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '=', 2)
      .executeTakeFirstOrThrow();
    for (const [column, value] of [
      ['at', '999'],
      ['kind', "'action'"],
      ['subject', "'evt_x'"],
      ['change', "'deleted'"],
      ['data', `'{"n": 2}'`],
    ]) {
      await run(store, `update audit_log set ${column} = ${value} where seq = 2`);
      expect(await verifyAudit(store.db), column).toMatchObject({ seq: 2, problem: 'changed' });
      await store.db.updateTable('audit_log').set(original).where('seq', '=', 2).execute();
      expect(await verifyAudit(store.db)).toMatchObject({ ok: true, checked: 4 });
    }
  });

  it('finds a deleted middle row, and a deleted first row', async () => {
    const store = await open();
    await appendMany(store, 5);
    await run(store, 'delete from audit_log where seq = 3');
    expect(await verifyAudit(store.db)).toMatchObject({
      ok: false,
      checked: 2,
      seq: 3,
      problem: 'deleted',
    });
    await run(store, 'delete from audit_log where seq = 1');
    expect(await verifyAudit(store.db)).toMatchObject({ checked: 0, seq: 1, problem: 'deleted' });
  });

  it('finds rows swapped into each other’s place', async () => {
    const store = await open();
    await appendMany(store, 5);
    await run(store, 'update audit_log set seq = -1 where seq = 2');
    await run(store, 'update audit_log set seq = 2 where seq = 4');
    await run(store, 'update audit_log set seq = 4 where seq = -1');
    expect(await verifyAudit(store.db)).toMatchObject({
      ok: false,
      checked: 1,
      seq: 2,
      problem: 'reordered',
    });
  });

  it('finds a row rewritten with a fresh hash at the link of the next row', async () => {
    const store = await open();
    await appendMany(store, 4);
    const row = await store.db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '=', 2)
      .executeTakeFirstOrThrow();
    const forged = { ...row, data: '{"n":22}' };
    await store.db
      .updateTable('audit_log')
      .set({ data: forged.data, hash: hashEntry(row.prev_hash, forged) })
      .where('seq', '=', 2)
      .execute();
    expect(await verifyAudit(store.db)).toMatchObject({ checked: 2, seq: 3, problem: 'reordered' });
  });

  it('finds a cut or rewritten tail only against a recorded head', async () => {
    const store = await open();
    await appendMany(store, 4);
    const verified = await verifyAudit(store.db);
    if (!verified.ok) throw new Error('expected a valid chain');
    const head = verified.head;
    expect(head.seq).toBe(4);

    await run(store, 'delete from audit_log where seq = 4');
    // Honest limit: a shorter chain is still a valid chain.
    expect(await verifyAudit(store.db)).toMatchObject({ ok: true, checked: 3 });
    expect(await verifyAudit(store.db, { head })).toMatchObject({
      ok: false,
      checked: 3,
      seq: 4,
      problem: 'deleted',
    });

    // Re-append a different entry 4 with a correct hash: valid alone, not the recorded head.
    await append(store, { kind: 'event', subject: 'evt_forged', change: 'received' });
    expect(await verifyAudit(store.db)).toMatchObject({ ok: true, checked: 4 });
    expect(await verifyAudit(store.db, { head })).toMatchObject({ seq: 4, problem: 'changed' });
    await append(store, { kind: 'event', subject: 'evt_5', change: 'received' });
    // Counted: the entries before the one named, not the whole chain read (5).
    expect(await verifyAudit(store.db, { head })).toMatchObject({
      seq: 4,
      problem: 'changed',
      checked: 3,
    });
  });

  it('exports the entries since a time as JSON lines, a page at a time', async () => {
    const store = await open();
    await appendMany(store, 10, (i) => 1_700_000_000_000 + i * 1_000);
    const lines: string[] = [];
    for await (const line of exportAudit(store.db, 1_700_000_006_000, { pageSize: 2 })) {
      lines.push(line);
    }
    expect(lines.every((line) => !line.includes('\n'))).toBe(true);
    const entries = lines.map((line) => JSON.parse(line) as AuditLine);
    expect(entries.map((entry) => entry.seq)).toEqual([6, 7, 8, 9, 10]);
    expect(entries[0]).toMatchObject({
      seq: 6,
      at: 1_700_000_006_000,
      time: new Date(1_700_000_006_000).toISOString(),
      kind: 'event',
      subject: 'evt_6',
      change: 'received',
      data: { n: 6 },
    });
    // Each line carries what is needed to check its hash.
    for (const entry of entries) {
      const fields = { ...entry, data: canonicalJson(entry.data) };
      expect(hashEntry(entry.prevHash, fields)).toBe(entry.hash);
    }
    const all: string[] = [];
    for await (const line of exportAudit(store.db, 0)) all.push(line);
    expect(all).toHaveLength(10);
  });
});

describe('audit log on postgres', () => {
  const stores = useTestStores('postgres');

  it('refuses to append outside a transaction', async () => {
    const store = await stores.open();
    const entry: AuditEntry = { kind: 'event', subject: 'evt_1', change: 'received' };
    await expect(appendAudit(store.db, entry, 'postgres')).rejects.toThrow('with the transaction');
  });
});

describe('audit log on sqlite', () => {
  const stores = useTestStores('sqlite');

  it('keeps one chain when the prepared-statement appender and the Kysely one interleave', async () => {
    const store = await stores.open();
    const append = (entry: AuditEntry) =>
      store.transaction((trx) => appendAudit(trx, entry, store.dialect));
    const connection = stores.closedAfter(
      openSqliteConnection(sqliteFile(stores.database)),
      (each) => each.close(),
    );
    const appendRaw = createSqliteAuditAppender(connection);
    expect(() => appendRaw({ kind: 'event', subject: 'evt_0', change: 'received' })).toThrow(
      'inside the transaction',
    );
    for (let i = 1; i <= 6; i += 1) {
      const entry: AuditEntry = { kind: 'event', subject: `evt_${i}`, change: 'received' };
      if (i % 2 === 0) {
        await append(entry);
      } else {
        // Two entries in one transaction of the raw connection.
        const head = connection
          .transaction(() => {
            appendRaw(entry);
            return appendRaw({ ...entry, change: 'dispatched', data: { to: ['agent'] } });
          })
          .immediate();
        expect(head.seq).toBe(Math.floor(i / 2) * 3 + 2);
      }
    }
    expect(await verifyAudit(store.db)).toMatchObject({ ok: true, checked: 9 });
    const rows = await store.db
      .selectFrom('audit_log')
      .select(['seq', 'subject', 'change'])
      .orderBy('seq')
      .execute();
    expect(rows.map((row) => `${row.seq} ${row.subject} ${row.change}`)).toEqual([
      '1 evt_1 received',
      '2 evt_1 dispatched',
      '3 evt_2 received',
      '4 evt_3 received',
      '5 evt_3 dispatched',
      '6 evt_4 received',
      '7 evt_5 received',
      '8 evt_5 dispatched',
      '9 evt_6 received',
    ]);
  });
});
