import {
  type KyselyPlugin,
  LimitNode,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryId,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  ValueNode,
} from 'kysely';

/*
 * SQLite (3.53, as better-sqlite3 12 builds it) plans a `LIMIT ?` with the value bound to it,
 * and so marks the statement to be compiled again whenever that parameter is bound anew: every
 * run of a prepared statement with a bound limit parsed and planned its SQL again. Kysely binds
 * every limit. A `limit 1` statement ran in 4.8 µs where its `limit ?` twin took 9.1 µs, and
 * under `bench:actions` the recompiles were about a sixteenth of the writer thread's time (CPU
 * profile).
 */

/**
 * Writes an integer limit into the SQL text (`limit 1`) rather than binding it. A limit given as
 * anything else (a stand-in of `preparedQuery`, an expression) stays a parameter. Each distinct
 * limit is a statement of its own in the statement cache.
 */
export class InlineLimits implements KyselyPlugin {
  readonly #transformer = new LimitTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node, args.queryId);
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

class LimitTransformer extends OperationNodeTransformer {
  protected override transformLimit(node: LimitNode, queryId?: QueryId): LimitNode {
    const { limit } = node;
    if (ValueNode.is(limit) && !limit.immediate && Number.isSafeInteger(limit.value)) {
      return LimitNode.create(ValueNode.createImmediate(limit.value));
    }
    return super.transformLimit(node, queryId);
  }
}
