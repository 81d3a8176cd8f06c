import type { Config } from '../config.js';

/** What one agent is handed: plain data, so it can cross to a writer thread. */
export interface Subscription {
  readonly agent: string;
  /**
   * Event type globs (`*` any run of characters), matched case-insensitively against the type or
   * its last `:` part.
   */
  readonly events: readonly string[];
  /** Only these sources; every source when null. */
  readonly sources: readonly string[] | null;
  /** Events caused by an Airlock action are recorded as echoes instead of handed over. */
  readonly suppressEchoes: boolean;
  /** A record's first pending event waits this long for others to go with it. */
  readonly settleMs: number;
  /** Event type globs that are news however late: never superseded. */
  readonly neverSupersede: readonly string[];
}

/** The agents of the config that subscribe to at least one event type. */
export function subscriptionsOf(agents: Config['agents']): Subscription[] {
  return Object.entries(agents).flatMap(([agent, { deliver }]) =>
    deliver && deliver.events.length > 0
      ? [
          {
            agent,
            events: deliver.events,
            sources: deliver.sources ?? null,
            suppressEchoes: deliver.echoes === 'suppress',
            settleMs: deliver.settle,
            neverSupersede: deliver.neverSupersede,
          },
        ]
      : [],
  );
}

/** Whether `subscription` takes an event of `source` with `type` (null: untyped, only `*`). */
export function subscribes(
  subscription: Subscription,
  source: string,
  type: string | null,
): boolean {
  if (subscription.sources && !subscription.sources.includes(source)) return false;
  return subscription.events.some((pattern) => typeMatches(pattern, type));
}

/** Whether an event of `type` may be superseded for `subscription`'s agent. */
export function supersedable(subscription: Subscription, type: string | null): boolean {
  return !subscription.neverSupersede.some((pattern) => typeMatches(pattern, type));
}

/**
 * Whether a glob matches an event type (null: untyped, only `*`), or the type's last `:` part.
 * Case is ignored: providers spell one word `comment_added` and `newMessage`, and a glob written
 * for one must not miss the other.
 */
export function typeMatches(pattern: string, type: string | null): boolean {
  if (pattern === '*') return true;
  if (type === null) return false;
  const glob = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i');
  return glob.test(type) || glob.test(type.slice(type.lastIndexOf(':') + 1));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
