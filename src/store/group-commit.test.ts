import { describe, expect, it } from 'vitest';
import { GroupCommitter } from './group-commit.js';

describe('group commit', () => {
  it('commits what is submitted together in one batch, and answers each in order', async () => {
    const batches: number[][] = [];
    const committer = new GroupCommitter<number, number>(
      async (items) => {
        batches.push(items);
        return items.map((item) => item * 10);
      },
      100,
      1,
    );
    expect(await Promise.all([1, 2, 3].map((item) => committer.submit(item)))).toEqual([
      10, 20, 30,
    ]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('commits an item submitted just as the only lane finished', async () => {
    // The lane ends a few promise turns after it answered its last item; an item submitted in
    // between must not be left waiting for a lane that no longer runs.
    for (let turns = 0; turns < 6; turns += 1) {
      const committer = new GroupCommitter<number, number>(async (items) => items, 100, 1);
      await committer.submit(1);
      for (let turn = 0; turn < turns; turn += 1) await null;
      const answered = await Promise.race([
        committer.submit(2),
        new Promise((resolve) => setTimeout(() => resolve('never committed'), 500)),
      ]);
      expect(answered, `submitted ${turns} turns after the answer`).toBe(2);
    }
  });

  it('fails only the item whose commit fails, and commits its neighbours', async () => {
    const committer = new GroupCommitter<number, number>(
      async (items) => {
        if (items.includes(2)) throw new Error('bad item');
        return items;
      },
      100,
      1,
    );
    const results = await Promise.allSettled([1, 2, 3].map((item) => committer.submit(item)));
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });
});
