import { AppError } from '../errors.js';
import type { Connector, RecordRef } from './connector.js';

/** A connector's name, where it connects to, and the record types it serves (null: all). */
export interface ServedConnector {
  readonly connector: Connector;
  /** Where the system is: two names with one `at` are one system. */
  readonly at: string;
  readonly types: readonly string[] | null;
}

/**
 * The connectors, each limited to the record types it serves, so that a record has one name.
 * Two names for one system (the embedded config's `helpdesk` and `crm`, one sandbox) would
 * otherwise give each record two identities, and what Airlock keys on a record (its order,
 * rate limits, the basis check) would not hold across them. So:
 * - reading, writing or proposing (`checkTarget`) a type a name does not serve is refused:
 *   422 `invalid-target`, naming the name that serves it, with nothing asked of the system;
 * - a record a connector declares related is named by the name that serves its type (a
 *   ticket's requester, read through `helpdesk`, is `crm`'s contact).
 * A connector without `types` serves every type under its name, as before.
 */
export function serveTypes(named: ReadonlyMap<string, ServedConnector>): Map<string, Connector> {
  const serves = (name: string, type: string) => {
    const types = named.get(name)?.types;
    return !types || types.includes(type);
  };
  /** The name that serves `ref`'s type on the same system, or null. */
  const home = (ref: RecordRef): string | null => {
    const at = named.get(ref.system)?.at;
    for (const [name, served] of named) {
      if (served.at === at && serves(name, ref.type)) return name;
    }
    return null;
  };
  const refuse = (ref: RecordRef) => {
    const other = home(ref);
    return new AppError(
      'invalid-target',
      422,
      `${ref.system} does not serve ${ref.type} records${other ? `: name them through ${other}` : ''}`,
      { details: { target: ref, ...(other ? { system: other } : {}) } },
    );
  };
  return new Map(
    [...named].map(([name, { connector, types }]) => {
      if (!types) return [name, connector];
      const checkTarget = (ref: RecordRef) => {
        if (!serves(name, ref.type)) throw refuse(ref);
      };
      const limited: Connector = {
        checkTarget,
        read: async (ref) => {
          checkTarget(ref);
          return connector.read(ref);
        },
        execute: async (request) => {
          if (!serves(name, request.target.type)) {
            return { kind: 'permanent', status: 422, message: refuse(request.target).message };
          }
          return connector.execute(request);
        },
        reconcile: (request) => connector.reconcile(request),
        related: async (ref) => {
          checkTarget(ref);
          const related = await connector.related(ref);
          return related.map((other) => ({ ...other, system: home(other) ?? other.system }));
        },
      };
      return [name, limited];
    }),
  );
}
