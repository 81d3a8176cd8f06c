import { describe, expect, it } from 'vitest';
import { acceptActionAt, useActionOps } from '../../test/helpers/action-ops.js';
import { BACKENDS } from '../../test/helpers/stores.js';
import type { ActionStatus, Store } from '../store/index.js';
import { type ListActionsQuery, listActions } from './action-queries.js';
import { retryAction } from './outbox.js';
import type { RateLimitRule } from './rate-limits.js';

const T0 = 1_700_000_040_000;

/** Retries action `id` at `now` in a transaction of `store`'s. */
function retry(store: Store, id: string, now: number, rateLimits: RateLimitRule[] = []) {
  return store.transaction((trx) =>
    retryAction(trx, { id, now, rateLimits, by: null, dialect: store.dialect }),
  );
}

describe.each(BACKENDS)('listing actions on %s', (backend) => {
  const openOps = useActionOps(backend);

  /**
   * A fresh store; `accept` adds, through the outbox op, an action made at `at` (epoch ms) on
   * `record` (`system:type:id`) that now stands at `status`; `list` lists, 50 a page by default.
   */
  async function open() {
    const { store, ops } = await openOps();
    const accept = (at: number, status: ActionStatus, agent: string, record: string) =>
      acceptActionAt(ops, store, at, status, { agent, record });
    const list = (query: Partial<ListActionsQuery>) => listActions(store, { limit: 50, ...query });
    const ids = async (query: Partial<ListActionsQuery>) =>
      (await list(query)).items.map((item) => item.action);
    return { accept, list, ids };
  }

  it("lists every agent's actions newest first, a page at a time", async () => {
    const { accept, list } = await open();
    const made: string[] = [];
    for (const [i, agent] of ['support-bot', 'sales-bot', 'support-bot', 'sales-bot'].entries()) {
      made.push(await accept(T0 + i * 1_000, 'executed', agent, 'helpdesk:ticket:1'));
    }
    const [d, c, b, a] = made;
    const first = await list({ limit: 3 });
    expect(first.items.map((item) => item.action)).toEqual([a, b, c]);
    expect(first.items[0]).toMatchObject({
      action: a,
      agent: 'sales-bot',
      status: 'executed',
      operation: 'ticket.add_note',
      target: { system: 'helpdesk', type: 'ticket', id: '1' },
      createdAt: new Date(T0 + 3_000).toISOString(),
    });
    const second = await list({ limit: 3, cursor: first.next ?? undefined });
    expect(second.items.map((item) => item.action)).toEqual([d]);
    expect(second.next).toBeNull();
    // A page that ends exactly at the last action says there is no next page.
    expect((await list({ limit: 4 })).next).toBeNull();
  });

  it('filters by status, agent, system and creation time', async () => {
    const { accept, ids } = await open();
    const failed = await accept(T0, 'failed', 'support-bot', 'helpdesk:ticket:1');
    const dead = await accept(T0 + 1_000, 'dead', 'sales-bot', 'crm:contact:2');
    const executed = await accept(T0 + 2_000, 'executed', 'support-bot', 'crm_eu:contact:3');
    const queued = await accept(T0 + 3_000, 'queued', 'support-bot', 'crm:deal:4');

    expect(await ids({ status: ['failed', 'dead'] })).toEqual([dead, failed]);
    expect(await ids({ status: [] })).toEqual([queued, executed, dead, failed]);
    expect(await ids({ agent: 'sales-bot' })).toEqual([dead]);
    expect(await ids({ system: 'crm' })).toEqual([queued, dead]);
    expect(await ids({ system: 'crm_eu' })).toEqual([executed]);
    expect(await ids({ since: T0 + 1_000, until: T0 + 3_000 })).toEqual([executed, dead]);
    expect(await ids({ system: 'crm', status: ['queued'], agent: 'support-bot' })).toEqual([
      queued,
    ]);
  });

  it.each(['junk', 'evt_0191c2a2b0f07d6aa7b1c5a0d0e0f001', 'act_0191C2A2B0F07D6AA7B1C5A0D0E0F001'])(
    'refuses the cursor %s, which no page printed',
    async (cursor) => {
      const { list } = await open();
      await expect(list({ limit: 3, cursor })).rejects.toMatchObject({
        code: 'invalid-query',
        status: 400,
      });
    },
  );

  it.each([0, 501, 1.5])('refuses a limit of %s', async (limit) => {
    const { list } = await open();
    await expect(list({ limit })).rejects.toMatchObject({ code: 'invalid-query', status: 400 });
  });
});

describe.each(BACKENDS)('retrying a dead action on %s', (backend) => {
  const openOps = useActionOps(backend);

  it('reconciles one whose write was sent first, and runs one never sent at once', async () => {
    const { store, ops } = await openOps();
    const sent = await acceptActionAt(ops, store, T0, 'dead', { record: 'helpdesk:ticket:1' });
    await store.db.updateTable('actions').set({ sent_at: T0 }).where('id', '=', sent).execute();
    const never = await acceptActionAt(ops, store, T0, 'dead', { record: 'helpdesk:ticket:2' });
    expect(await retry(store, sent, T0 + 10)).toMatchObject({ status: 'executing' });
    // Never sent, it has no write to look for: it runs, rather than wait to reconcile.
    expect(await retry(store, never, T0 + 10)).toMatchObject({ status: 'queued' });
  });

  it('takes a rate-limit slot again once the one it kept has run out', async () => {
    const { store, ops } = await openOps();
    const record = 'helpdesk:ticket:3';
    const rule = {
      name: 'one-note',
      operations: ['ticket.add_note'],
      per: 'record' as const,
      max: 1,
      windowMs: 10_000,
    };
    const slotsOf = (action: string) =>
      store.db
        .selectFrom('rate_limit_slots')
        .select(['rule', 'expires_at'])
        .where('action_id', '=', action)
        .execute();
    const dead = await acceptActionAt(ops, store, T0, 'dead', { record });
    await store.db
      .insertInto('rate_limit_slots')
      .values({ rule: rule.name, scope: record, slot: 0, action_id: dead, expires_at: T0 + 10_000 })
      .execute();
    // Within the window the slot it kept is its own: nothing more is taken.
    const early = await acceptActionAt(ops, store, T0, 'dead', { record: 'helpdesk:ticket:4' });
    await store.db
      .insertInto('rate_limit_slots')
      .values({
        rule: rule.name,
        scope: 'helpdesk:ticket:4',
        slot: 0,
        action_id: early,
        expires_at: T0 + 10_000,
      })
      .execute();
    await retry(store, early, T0 + 5_000, [rule]);
    expect(await slotsOf(early)).toEqual([{ rule: rule.name, expires_at: T0 + 10_000 }]);
    // Past the window it is taken afresh: the run-out one let another send through meanwhile.
    await retry(store, dead, T0 + 20_000, [rule]);
    expect(await slotsOf(dead)).toEqual([{ rule: rule.name, expires_at: T0 + 30_000 }]);
    // Dead again, its slot run out and taken by another action: the retry is refused, as a
    // proposal would be.
    await store.db.updateTable('actions').set({ status: 'dead' }).where('id', '=', dead).execute();
    const other = await acceptActionAt(ops, store, T0 + 31_000, 'executed', { record });
    await store.db
      .updateTable('rate_limit_slots')
      .set({ action_id: other, expires_at: T0 + 41_000 })
      .where('action_id', '=', dead)
      .execute();
    await expect(retry(store, dead, T0 + 32_000, [rule])).rejects.toMatchObject({
      code: 'policy-denied',
      status: 403,
    });
  });
});

// PostgreSQL, where instances share one database. On SQLite the write transaction of each
// (BEGIN IMMEDIATE) orders them; two connections in one thread would only wait on each other.
describe('retrying actions on postgres', () => {
  const openOps = useActionOps('postgres');

  it('retries one of two dead actions of a record when both are asked at once', async () => {
    const { database, store, ops } = await openOps();
    const other = await database.open();
    const record = 'helpdesk:ticket:7';
    const a = await acceptActionAt(ops, store, T0, 'dead', { agent: 'bot', record });
    const b = await acceptActionAt(ops, store, T0 + 1, 'dead', { agent: 'bot', record });
    // As two operators on two instances: each found the record free, and both went back to
    // `executing`, each waiting for the other for ever.
    try {
      for (let round = 0; round < 5; round += 1) {
        const answers = await Promise.allSettled([
          retry(store, a, T0 + 10),
          retry(other, b, T0 + 10),
        ]);
        const retried = answers.filter((answer) => answer.status === 'fulfilled');
        expect(retried, `round ${round}`).toHaveLength(1);
        expect(answers.find((answer) => answer.status === 'rejected')).toMatchObject({
          reason: { code: 'record-busy' },
        });
        await store.db.updateTable('actions').set({ status: 'dead' }).execute();
      }
    } finally {
      await other.close();
    }
  });
});
