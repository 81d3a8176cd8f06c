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
