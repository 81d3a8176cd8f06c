/** Int32 cells in memory shared by the threads of this process, one set per key. */
const cells = new Map<string, Int32Array<SharedArrayBuffer>>();

/**
 * The `length` cells of `key` (zero at first), the same array for every call with that key; the
 * main thread passes it to each thread in its `workerData`. Main thread only: a thread's map is
 * its own.
 */
export function sharedInt32(key: string, length: number): Int32Array<SharedArrayBuffer> {
  let array = cells.get(key);
  if (!array) {
    array = new Int32Array(new SharedArrayBuffer(length * Int32Array.BYTES_PER_ELEMENT));
    cells.set(key, array);
  }
  return array;
}
