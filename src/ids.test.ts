import { describe, expect, it } from 'vitest';
import { firstIdAt, newId } from './ids.js';

describe('ids', () => {
  it('sort in the order they were made, across milliseconds', async () => {
    const ids: string[] = [];
    for (let n = 0; n < 50; n++) {
      ids.push(newId('evt'));
      if (n % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect([...ids].sort()).toEqual(ids);
  });

  it('sort in the order they were made within a millisecond, and never repeat', () => {
    const ids = Array.from({ length: 20_000 }, () => newId('act'));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // Version 7, RFC 9562 variant, as uuid lays them out.
    for (const id of ids.slice(0, 100))
      expect(id).toMatch(/^act_[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}$/);
  });

  it('place firstIdAt(t) above every id made before t and below every id made from t on', async () => {
    const before = newId('evt');
    await new Promise((resolve) => setTimeout(resolve, 3));
    const cutoff = firstIdAt('evt', Date.now());
    await new Promise((resolve) => setTimeout(resolve, 1));
    const after = newId('evt');
    expect(before < cutoff).toBe(true);
    expect(cutoff < after).toBe(true);
  });
});
