/**
 * Lets the oldest of `items` go once there are a tenth more than `max`, down to `max`: a log
 * that keeps its latest entries in bounded memory, at a cost per entry that does not grow.
 */
export function keepLatest<T>(items: T[], max: number): void {
  if (items.length > max + Math.ceil(max / 10)) items.splice(0, items.length - max);
}

/** How many of the latest writes, and of the latest webhook deliveries, a sandbox keeps. */
export const DEFAULT_KEEP = 10_000;
