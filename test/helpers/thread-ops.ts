// Store ops for testing the op runner itself; run in its writer thread.

export const threadOps = {
  one: async () => 1,
  /** Ends the writer thread, as an out-of-memory kill of its isolate would. */
  exit: async () => {
    process.exit(3);
  },
};

export const THREAD_OPS_MODULE = {
  module: new URL('./thread-ops.js', import.meta.url),
  name: 'threadOps',
};
