import { describe, expect, it } from 'vitest';
import { useActionOps } from '../../test/helpers/action-ops.js';
import { BACKENDS, useTestStores } from '../../test/helpers/stores.js';
import { newId } from '../ids.js';
import type { Store } from '../store/index.js';
import type { ActionOps } from './action-ops.js';
import type { ActionRow } from './action-view.js';
import { peekKey, pruneKeys } from './idempotency.js';
import { type Acceptance, acceptAction, claimDueActions } from './outbox.js';

const TICKET = { system: 'helpdesk', type: 'ticket', id: '1001' };
const LEASE_MS = 30_000;

/** A status change of TICKET as proposed, accepted at 1000. */
function proposedRow(id: string, key: string): ActionRow {
  return {
    id,
    agent: 'bot',
    idempotency_key: key,
    operation: 'ticket.set_status',
    record_key: `${TICKET.system}:${TICKET.type}:${TICKET.id}`,
    target: JSON.stringify(TICKET),
    params: '{"status":"open"}',
    basis: null,
    decision: null,
    status: 'queued',
    verdict: null,
    expected_revision: '1',
    effect: null,
    error: null,
    attempts: 0,
    next_attempt_at: 1_000,
    lease_owner: null,
    lease_until: null,
    created_at: 1_000,
    updated_at: 1_000,
    sent_at: null,
  };
}

describe.each(BACKENDS)('the action outbox on %s', (backend) => {
  const openOps = useActionOps(backend);
  let store: Store;
  let ops: ActionOps;
  const open = async () => {
    ({ store, ops } = await openOps());
  };

  let keys = 0;
  /** A status change of TICKET proposed at `now` under `key` (a fresh one by default). */
  function acceptanceAt(now: number, readAt = now, lease = true, key?: string): Acceptance {
    keys += 1;
    const ref = { agent: 'bot', key: key ?? `k-${keys}` };
    const action = {
      ...proposedRow(newId('act'), ref.key),
      next_attempt_at: now,
      created_at: now,
      updated_at: now,
    };
    return {
      ref,
      fingerprint: 'fp',
      lockMs: LEASE_MS,
      action,
      target: TICKET,
      rateLimits: [],
      lease: lease ? { owner: `test:${action.id}`, until: now + LEASE_MS, readAt } : null,
      approval: null,
      dialect: store.dialect,
    };
  }

  /** Proposes a status change of TICKET at `now` under a fresh key, read at `readAt`. */
  async function accept(now: number, readAt = now, lease = true) {
    const acceptance = acceptanceAt(now, readAt, lease);
    return { action: acceptance.action, accepted: await ops.run('acceptAction', acceptance) };
  }

  const actionsOfKey = async (key: string) =>
    (
      await store.db.selectFrom('actions').select('id').where('idempotency_key', '=', key).execute()
    ).map((row) => row.id);

  const statusOf = async (id: string) =>
    (await store.db.selectFrom('actions').select('status').where('id', '=', id).executeTakeFirst())
      ?.status;

  it('leases exactly one of 20 concurrent proposals on one record; the rest queue behind it', async () => {
    await open();
    const results = await Promise.all(Array.from({ length: 20 }, () => accept(1_000)));
    const leased = results.filter(
      ({ accepted }) => accepted.kind === 'accepted' && accepted.leased,
    );
    expect(leased).toHaveLength(1);
    const rows = await store.db.selectFrom('actions').select('status').execute();
    expect(rows.filter((row) => row.status === 'executing')).toHaveLength(1);
    expect(rows.filter((row) => row.status === 'queued')).toHaveLength(19);
  });

  it('lets the proposal read stand only when nothing touched the record since', async () => {
    await open();
    const first = await accept(1_000);
    expect(first.accepted).toEqual({ kind: 'accepted', leased: true, fresh: true });
    // The first settles at 2000; a proposal that read the record before that must read again.
    expect(
      await ops.run('updateLeasedAction', {
        id: first.action.id,
        owner: `test:${first.action.id}`,
        patch: { status: 'executed', lease_owner: null, lease_until: null, updated_at: 2_000 },
      }),
    ).toBe(true);
    expect((await accept(3_000, 1_500)).accepted).toMatchObject({ leased: true, fresh: false });
  });

  async function insertEvent(recordId: string, at: number) {
    await store.db
      .insertInto('events')
      .values({
        id: newId('evt'),
        source: 'helpdesk',
        dedup_key: `d-${recordId}-${at}`,
        provider_event_id: `e-${recordId}-${at}`,
        request_id: 'req_test',
        item_index: null,
        type: 'ticket.comment_added',
        record_system: TICKET.system,
        record_type: TICKET.type,
        record_id: recordId,
        occurred_at: null,
        received_at: at,
      })
      .execute();
  }

  it('does not let the read stand when an event about the record arrived after it', async () => {
    await open();
    const readAt = Date.now();
    await insertEvent(TICKET.id, readAt);
    expect((await accept(readAt + 10, readAt)).accepted).toMatchObject({
      leased: true,
      fresh: false,
    });
  });

  it('lets the read stand when the events since are about other records', async () => {
    await open();
    const readAt = Date.now();
    await insertEvent('1002', readAt);
    expect((await accept(readAt + 10, readAt)).accepted).toMatchObject({
      leased: true,
      fresh: true,
    });
  });

  it("claims a record's actions one at a time, in the order they were accepted", async () => {
    await open();
    const a = await accept(1_000, 1_000, false);
    const b = await accept(1_001, 1_001, false);
    const claim = (now: number) =>
      ops.run('claimDueActions', { now, limit: 10, leaseMs: LEASE_MS, owner: 'w' });

    const first = await claim(2_000);
    expect(first.map((row) => row.id)).toEqual([a.action.id]);
    // Executing: b waits until a is settled.
    const [claimedA] = first;
    await ops.run('updateLeasedAction', {
      id: a.action.id,
      owner: claimedA?.lease_owner ?? null,
      patch: { status: 'executing' },
    });
    expect(await claim(2_001)).toEqual([]);
    await ops.run('updateLeasedAction', {
      id: a.action.id,
      owner: claimedA?.lease_owner ?? null,
      patch: { status: 'executed', lease_owner: null, lease_until: null },
    });
    expect((await claim(2_002)).map((row) => row.id)).toEqual([b.action.id]);
  });

  it('holds back an earlier queued action while a later one of its record is executing', async () => {
    await open();
    // As after an approval: the earlier action is queued again while a later one runs.
    const earlier = await accept(1_000, 1_000, false);
    await store.db
      .updateTable('actions')
      .set({ status: 'pending_approval' })
      .where('id', '=', earlier.action.id)
      .execute();
    const later = await accept(1_001);
    expect(later.accepted).toMatchObject({ leased: true });
    await store.db
      .updateTable('actions')
      .set({ status: 'queued' })
      .where('id', '=', earlier.action.id)
      .execute();
    const claim = (now: number) =>
      ops.run('claimDueActions', { now, limit: 10, leaseMs: LEASE_MS, owner: 'w' });
    expect(await claim(2_000)).toEqual([]);
    expect(await statusOf(earlier.action.id)).toBe('queued');

    // The later one's attempt timed out (its lease ran out, still executing): it is claimed to
    // be reconciled, with the earlier one still queued. Each once waited for the other for ever.
    const late = 1_001 + LEASE_MS + 1;
    const reconciling = await claim(late);
    expect(reconciling.map((row) => row.id)).toEqual([later.action.id]);
    await ops.run('updateLeasedAction', {
      id: later.action.id,
      owner: reconciling[0]?.lease_owner ?? null,
      patch: { status: 'executed', lease_owner: null, lease_until: null },
    });
    expect((await claim(late + 1)).map((row) => row.id)).toEqual([earlier.action.id]);
  });

  it('of two actions of a record left executing, reconciles the earlier first', async () => {
    await open();
    const a = await accept(1_000, 1_000, false);
    const b = await accept(1_001, 1_001, false);
    await store.db.updateTable('actions').set({ status: 'executing' }).execute();
    const claim = (now: number) =>
      ops.run('claimDueActions', { now, limit: 10, leaseMs: LEASE_MS, owner: 'w' });
    expect((await claim(2_000)).map((row) => row.id)).toEqual([a.action.id]);
    expect(await claim(2_001)).toEqual([]);
    expect(b.action.id > a.action.id).toBe(true);
  });

  it('answers an accept run again after its commit with the action it committed', async () => {
    await open();
    // A writer thread that died after committing: the op runner runs the op again.
    const acceptance = acceptanceAt(1_000);
    const first = await ops.run('acceptAction', acceptance);
    const again = await ops.run('acceptAction', acceptance);
    expect(first).toEqual({ kind: 'accepted', leased: true, fresh: true });
    expect(again).toEqual({ kind: 'accepted', leased: true, fresh: false });
    expect(await actionsOfKey(acceptance.ref.key)).toEqual([acceptance.action.id]);
  });

  it('refuses a key reused after its record was pruned, while the action it named is kept', async () => {
    await open();
    const first = acceptanceAt(1_000, 1_000, true, 'k-reused');
    await ops.run('acceptAction', first);
    await ops.run('completeKey', { ref: first.ref, status: 200, json: '{}' });
    expect(await pruneKeys(store.db, 100_000)).toBe(1);
    const second = acceptanceAt(200_000, 200_000, true, 'k-reused');
    await expect(ops.run('acceptAction', second)).rejects.toMatchObject({
      code: 'idempotency-key-reuse',
      status: 422,
    });
    expect(await actionsOfKey('k-reused')).toEqual([first.action.id]);
    // Nothing of the refused accept is kept: the key is not taken either.
    expect(
      await peekKey(store.db, { ref: second.ref, fingerprint: 'fp', now: 200_001 }),
    ).toBeNull();
  });

  it('gives one key to one of concurrent accepts and refusals; the others get its answer or 409', async () => {
    await open();
    for (let round = 0; round < 5; round += 1) {
      const key = `k-race-${round}`;
      const ref = { agent: 'bot', key };
      const requests = Array.from({ length: 10 }, async (_, i) => {
        if (i % 2 === 0) {
          const accepted = await ops.run('acceptAction', acceptanceAt(1_000, 1_000, false, key));
          return accepted.kind === 'accepted' ? 'claimed' : accepted.claim.kind;
        }
        const args = { ref, fingerprint: 'fp', now: 1_000, lockMs: LEASE_MS };
        return (await ops.run('answerKey', { ...args, status: 409, json: JSON.stringify({ i }) }))
          .kind;
      });
      const kinds = await Promise.all(requests);
      expect(kinds.filter((kind) => kind === 'claimed')).toHaveLength(1);
      const actions = await actionsOfKey(key);
      // An accept won: the rest find it in flight. A refusal won: the rest get its answer.
      const others = actions.length === 1 ? 'in_flight' : 'replay';
      expect(actions.length).toBeLessThanOrEqual(1);
      expect(kinds.filter((kind) => kind !== 'claimed')).toEqual(Array(9).fill(others));
    }
  });

  it('changes an action only under its lease, and stores the key answer in the same commit', async () => {
    await open();
    const { action } = await accept(1_000);
    const ref = { agent: 'bot', key: action.idempotency_key };
    const settle = (owner: string) =>
      ops.run('updateLeasedAction', {
        id: action.id,
        owner,
        patch: { status: 'executed', lease_owner: null, lease_until: null },
        complete: { ref, status: 200, json: '{"status":"executed"}' },
      });
    expect(await settle('someone-else')).toBe(false);
    expect(await statusOf(action.id)).toBe('executing');
    expect(await settle(`test:${action.id}`)).toBe(true);
    expect(await statusOf(action.id)).toBe('executed');
    expect(await peekKey(store.db, { ref, fingerprint: 'fp', now: 2_000 })).toEqual({
      kind: 'replay',
      status: 200,
      body: { status: 'executed' },
    });
  });
});

describe('the action outbox on postgres, two accepts in flight at once', () => {
  const stores = useTestStores('postgres');

  it('makes the second accept of a record wait for the first to commit, and queue behind it', async () => {
    const store = await stores.open();
    const acceptance = async (key: string): Promise<Acceptance> => {
      const ref = { agent: 'bot', key };
      const id = newId('act');
      return {
        ref,
        fingerprint: 'fp',
        lockMs: LEASE_MS,
        action: proposedRow(id, key),
        target: TICKET,
        rateLimits: [],
        lease: { owner: `test:${id}`, until: 1_000 + LEASE_MS, readAt: 1_000 },
        approval: null,
        dialect: 'postgres',
      };
    };
    const [a, b] = [await acceptance('k-a'), await acceptance('k-b')];
    let commitFirst = () => {};
    const held = new Promise<void>((resolve) => {
      commitFirst = resolve;
    });
    // The first accept has inserted its row, but not committed, when the second starts.
    let firstDone = false;
    const first = store.transaction(async (trx) => {
      const accepted = await acceptAction(trx, a);
      firstDone = true;
      await held;
      return accepted;
    });
    while (!firstDone) await new Promise((resolve) => setTimeout(resolve, 5));
    const second = store.transaction((trx) => acceptAction(trx, b));
    await new Promise((resolve) => setTimeout(resolve, 200));
    commitFirst();
    expect(await first).toMatchObject({ leased: true });
    expect(await second).toMatchObject({ leased: false });
  });
});

describe('the action outbox on postgres, a claim racing a settle', () => {
  const stores = useTestStores('postgres');

  it('does not claim an action another worker settled after the candidates were read', async () => {
    const store = await stores.open();
    const insert = (id: string, recordId: string, due: number) =>
      store.db
        .insertInto('actions')
        .values({
          ...proposedRow(id, `k-${id}`),
          record_key: `helpdesk:ticket:${recordId}`,
          next_attempt_at: due,
        })
        .execute();
    await insert('act_c', '1', 1_000);
    await insert('act_a', '2', 1_001);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = false;
    // Another session holds C's row: the claim reads [C, A], then waits on C's update.
    const locker = store.transaction(async (trx) => {
      await trx.selectFrom('actions').select('id').where('id', '=', 'act_c').forUpdate().execute();
      locked = true;
      await held;
    });
    while (!locked) await new Promise((resolve) => setTimeout(resolve, 5));
    const claiming = store.transaction((trx) =>
      claimDueActions(trx, { now: 2_000, limit: 10, leaseMs: LEASE_MS, owner: 'x' }),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Meanwhile another worker ran A and settled it.
    await store.db
      .updateTable('actions')
      .set({ status: 'executed', lease_owner: null, lease_until: null })
      .where('id', '=', 'act_a')
      .execute();
    release();
    await locker;
    const claimed = await claiming;
    expect(claimed.map((row) => row.id)).toEqual(['act_c']);
    const a = await store.db
      .selectFrom('actions')
      .select(['status', 'lease_owner'])
      .where('id', '=', 'act_a')
      .executeTakeFirst();
    expect(a).toEqual({ status: 'executed', lease_owner: null });
  });
});
