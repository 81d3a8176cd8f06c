/**
 * Runs `batch` (which does at most `size` rows' work and answers how many it did) until one does
 * fewer; the total. For work too large for one transaction, such as pruning: each batch is short.
 */
export async function inBatches(size: number, batch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const done = await batch();
    total += done;
    if (done < size) return total;
  }
}
