import type { Connector } from '../connectors/index.js';
import type { Metrics } from './metrics.js';

/**
 * `connector` with the duration of every call observed in `metrics`, failed calls included:
 * writes under their catalogue operation (`ticket.reply`), the other calls under their own name
 * (`read`, `reconcile`, `related`). A proposal reads its record before anything else, so the
 * reads belong in the figures as much as the writes.
 */
export function timeConnector(
  connector: Connector,
  system: string,
  metrics: Pick<Metrics, 'observeConnectorCall'>,
): Connector {
  const timed = async <T>(operation: string, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await call();
    } finally {
      metrics.observeConnectorCall(system, operation, (performance.now() - started) / 1000);
    }
  };
  return {
    read: (ref) => timed('read', () => connector.read(ref)),
    execute: (request) => timed(request.operation, () => connector.execute(request)),
    reconcile: (request) => timed('reconcile', () => connector.reconcile(request)),
    related: (ref) => timed('related', () => connector.related(ref)),
  };
}
