import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { BACKENDS, useTestStores } from '../../test/helpers/stores.js';
import { GATEWAY_OPS_MODULE, gatewayOps } from '../gateway-ops.js';
import { createOpRunner, type Store } from '../store/index.js';
import { ActivityTally } from './tally.js';

const MINUTE = 1_700_000_040_000;

describe.each(BACKENDS)('the activity tally on %s', (backend) => {
  const stores = useTestStores(backend);
  /** A gateway instance's store and op runner over the test's database. */
  async function instance() {
    const store = await stores.open();
    const ops = stores.closedAfter(createOpRunner(store, gatewayOps, GATEWAY_OPS_MODULE));
    return { store, ops };
  }
  const read = (store: Store) =>
    store.db
      .selectFrom('activity_counts')
      .select(['kind', 'subject', 'reason', 'minute', 'count', 'last_at'])
      .orderBy('minute')
      .orderBy('reason')
      .execute();

  it('counts per key and minute, and two instances counting one minute add up', async () => {
    const one = await instance();
    const two = await instance();
    let now = MINUTE + 1_000;
    const clock = () => now;
    const first = new ActivityTally(one.ops, {
      onError: (error) => expect.fail(String(error)),
      now: clock,
    });
    const second = new ActivityTally(two.ops, {
      onError: (error) => expect.fail(String(error)),
      now: clock,
    });
    first.count('webhook_rejected', 'demo', 'signature-invalid');
    now = MINUTE + 2_000;
    first.count('webhook_rejected', 'demo', 'signature-invalid');
    first.count('webhook_rejected', 'demo', 'malformed-body');
    now = MINUTE + 50_000;
    second.count('webhook_rejected', 'demo', 'signature-invalid');
    now = MINUTE + 61_000;
    second.count('webhook_rejected', 'demo', 'signature-invalid');
    await Promise.all([first.flush(), second.flush()]);

    const rejected = { kind: 'webhook_rejected', subject: 'demo' };
    expect(await read(one.store)).toEqual([
      { ...rejected, reason: 'malformed-body', minute: MINUTE, count: 1, last_at: MINUTE + 2_000 },
      {
        ...rejected,
        reason: 'signature-invalid',
        minute: MINUTE,
        count: 3,
        last_at: MINUTE + 50_000,
      },
      {
        ...rejected,
        reason: 'signature-invalid',
        minute: MINUTE + 60_000,
        count: 1,
        last_at: MINUTE + 61_000,
      },
    ]);
    // Flushed counts are not sent again.
    await Promise.all([first.flush(), second.flush()]);
    expect((await read(one.store)).map((row) => row.count)).toEqual([1, 3, 1]);
  });

  it('keeps the counts of a failed flush, reports the failure, and writes them with the next', async () => {
    const { store, ops } = await instance();
    let now = MINUTE;
    const errors: unknown[] = [];
    const tally = new ActivityTally(ops, {
      onError: (error) => errors.push(error),
      now: () => now,
    });
    tally.count('connector_error', 'helpdesk', '503');
    tally.count('connector_error', 'helpdesk', '503');
    await sql`alter table activity_counts rename to activity_counts_away`.execute(store.db);
    await tally.flush();
    expect(errors).toHaveLength(1);

    now = MINUTE + 5_000;
    tally.count('connector_error', 'helpdesk', '503');
    await sql`alter table activity_counts_away rename to activity_counts`.execute(store.db);
    await tally.flush();
    expect(errors).toHaveLength(1);
    expect(await read(store)).toEqual([
      {
        kind: 'connector_error',
        subject: 'helpdesk',
        reason: '503',
        minute: MINUTE,
        count: 3,
        last_at: MINUTE + 5_000,
      },
    ]);
  });

  it('flushes on its own once started, and what is left when stopped', async () => {
    const { store, ops } = await instance();
    const tally = new ActivityTally(ops, {
      onError: (error) => expect.fail(String(error)),
      flushMs: 20,
    });
    tally.start();
    tally.count('write_prevented', '-', 'stale');
    const deadline = Date.now() + 5_000;
    while ((await read(store)).length === 0) {
      if (Date.now() > deadline) expect.fail('no flush within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    tally.count('write_prevented', '-', 'stale');
    await tally.stop();
    expect((await read(store)).reduce((sum, row) => sum + row.count, 0)).toBe(2);
  });
});
