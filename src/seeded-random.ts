// Seeded randomness for the sandbox's chaos and the simulation: each draw is a pure function of
// the seed and a key, so a run's decisions do not depend on the order things happen in.

/**
 * A number in [0, 1) determined by `seed`, `stream` and `key` alone: FNV-1a of the three,
 * finished with one step of mulberry32 (a small, well-mixed 32-bit generator).
 */
export function draw(seed: number, stream: string, key: string): number {
  let hash = 0x811c9dc5;
  for (const char of `${seed}\u0000${stream}\u0000${key}`) {
    hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193);
  }
  let t = (hash + 0x6d2b79f5) | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}
