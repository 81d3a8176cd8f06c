interface Waiting<I, O> {
  readonly item: I;
  readonly resolve: (output: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted while a commit is running (or within the same event-loop turn)
 * are committed together by the next call of `commit`, and each caller's promise settles only
 * after the commit that holds its item returned. One durable commit then serves a whole batch of
 * concurrent requests instead of one fsync each. Up to `maxInFlight` batches are committing at
 * once, so the next batch is already waiting when the writer finishes one.
 */
export class GroupCommitter<I, O> {
  readonly #commit: (items: I[]) => Promise<O[]>;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  #waiting: Waiting<I, O>[] = [];
  readonly #lanes = new Set<Promise<void>>();
  #scheduled = false;

  /** `commit` answers one output per item, in order; it must commit all or nothing. */
  constructor(commit: (items: I[]) => Promise<O[]>, maxBatch: number, maxInFlight = 1) {
    this.#commit = commit;
    this.#maxBatch = maxBatch;
    this.#maxInFlight = maxInFlight;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Starts a lane for what is waiting, unless one is due to start or every lane is busy. */
  #schedule(): void {
    if (this.#scheduled || this.#lanes.size >= this.#maxInFlight) return;
    // Wait one turn so every request parsed in this turn joins the batch.
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      const lane: Promise<void> = this.#drain().finally(() => {
        this.#lanes.delete(lane);
        // Submitted after the lane last looked, while it still counted as busy.
        if (this.#waiting.length > 0) this.#schedule();
      });
      this.#lanes.add(lane);
    });
  }

  /** Resolves when everything submitted so far has been committed or has failed. */
  async idle(): Promise<void> {
    while (this.#scheduled || this.#lanes.size > 0) {
      if (this.#lanes.size > 0) await Promise.all(this.#lanes);
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** One lane: commits batches until nothing is waiting. */
  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#maxBatch);
      await this.#commitBatch(batch);
    }
  }

  async #commitBatch(batch: Waiting<I, O>[]): Promise<void> {
    try {
      const outputs = await this.#commit(batch.map((waiting) => waiting.item));
      for (const [index, waiting] of batch.entries()) waiting.resolve(outputs[index] as O);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]?.reject(error);
        return;
      }
      // One bad item must not fail its neighbours: commit each alone to find it.
      for (const waiting of batch) await this.#commitBatch([waiting]);
    }
  }
}
