import { describe, expect, it } from 'vitest';
import { useStoreOps } from '../../test/helpers/action-ops.js';
import { BACKENDS } from '../../test/helpers/stores.js';
import { GATEWAY_OPS_MODULE, gatewayOps } from '../gateway-ops.js';
import type { Store } from '../store/index.js';
import { type ActivityRow, pruneActivity } from './activity-counts.js';

const MINUTE = 1_700_000_040_000;

const row = (minute: number, count: number, last_at: number): ActivityRow => ({
  kind: 'connector_error',
  subject: 'helpdesk',
  reason: '503',
  minute,
  count,
  last_at,
});

describe.each(BACKENDS)('activity counts on %s', (backend) => {
  const open = useStoreOps(backend, gatewayOps, GATEWAY_OPS_MODULE);
  const read = (store: Store) =>
    store.db.selectFrom('activity_counts').selectAll().orderBy('minute').execute();

  it('adds the counts of a key written twice, keeping the later occurrence', async () => {
    const { store, ops } = await open();
    await ops.run('recordActivity', { rows: [row(MINUTE, 2, MINUTE + 30_000)] });
    await ops.run('recordActivity', { rows: [row(MINUTE, 3, MINUTE + 10_000)] });
    await ops.run('recordActivity', { rows: [row(MINUTE + 60_000, 1, MINUTE + 60_000)] });
    expect(await read(store)).toEqual([
      { ...row(MINUTE, 5, MINUTE + 30_000) },
      { ...row(MINUTE + 60_000, 1, MINUTE + 60_000) },
    ]);
  });

  it('writes hundreds of keys in one op', async () => {
    const { store, ops } = await open();
    const rows = Array.from({ length: 450 }, (_, i) => row(MINUTE + i * 60_000, 1, MINUTE));
    await ops.run('recordActivity', { rows });
    await ops.run('recordActivity', { rows });
    const stored = await read(store);
    expect(stored).toHaveLength(450);
    expect(stored.every((counted) => counted.count === 2)).toBe(true);
  });

  it('prunes the minutes that ended before the cutoff, and only those', async () => {
    const { store, ops } = await open();
    await ops.run('recordActivity', {
      rows: [
        row(MINUTE - 60_000, 1, MINUTE - 1),
        row(MINUTE, 1, MINUTE),
        row(MINUTE + 60_000, 1, MINUTE + 60_000),
      ],
    });
    // The minute starting at MINUTE ends at MINUTE + 60 s: a cutoff inside it keeps it.
    expect(await pruneActivity(store.db, MINUTE + 59_999)).toBe(1);
    expect((await read(store)).map((counted) => counted.minute)).toEqual([MINUTE, MINUTE + 60_000]);
    expect(await pruneActivity(store.db, MINUTE + 60_000)).toBe(1);
    expect((await read(store)).map((counted) => counted.minute)).toEqual([MINUTE + 60_000]);
    // At most `limit` a call: pruning runs in batches.
    await ops.run('recordActivity', {
      rows: [row(MINUTE - 120_000, 1, MINUTE - 1), row(MINUTE - 60_000, 1, MINUTE - 1)],
    });
    expect(await pruneActivity(store.db, MINUTE, 1)).toBe(1);
    expect(await pruneActivity(store.db, MINUTE, 1)).toBe(1);
    expect(await pruneActivity(store.db, MINUTE, 1)).toBe(0);
  });
});
