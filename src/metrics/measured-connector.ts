import {
  type CallFailure,
  type Connector,
  ConnectorCallError,
  type WriteOutcome,
} from '../connectors/index.js';
import type { Metrics } from './metrics.js';

/**
 * `connector` with every call measured in `metrics`:
 * - its duration, failed calls included: writes under their catalogue operation (`ticket.reply`),
 *   the other calls under their own name (`read`, `reconcile`, `related`). A proposal reads its
 *   record before anything else, so the reads belong in the figures as much as the writes;
 * - each call the system did not answer with success, by its status, `timeout` or `unsent`: a
 *   write refused or lost, a read that threw, a reconcile that could not ask. A system that is
 *   down shows here whether it fails the reads of proposals or the writes of the worker.
 */
export function measureConnector(
  connector: Connector,
  system: string,
  metrics: Pick<Metrics, 'observeConnectorCall' | 'connectorError'>,
): Connector {
  const measured = async <T>(
    operation: string,
    call: () => Promise<T>,
    failureOf: (result: T) => CallFailure | null = () => null,
  ): Promise<T> => {
    const started = performance.now();
    try {
      const result = await call();
      const failure = failureOf(result);
      if (failure !== null) metrics.connectorError(system, failure);
      return result;
    } catch (error) {
      if (error instanceof ConnectorCallError) metrics.connectorError(system, error.failure);
      throw error;
    } finally {
      metrics.observeConnectorCall(system, operation, (performance.now() - started) / 1000);
    }
  };
  return {
    read: (ref) => measured('read', () => connector.read(ref)),
    execute: (request) =>
      measured(request.operation, () => connector.execute(request), writeFailure),
    reconcile: (request) =>
      measured(
        'reconcile',
        () => connector.reconcile(request),
        (outcome) => (outcome.kind === 'unknown' ? outcome.failure : null),
      ),
    related: (ref) => measured('related', () => connector.related(ref)),
  };
}

function writeFailure(outcome: WriteOutcome): CallFailure | null {
  switch (outcome.kind) {
    case 'applied':
      return null;
    case 'ambiguous':
      return 'timeout';
    case 'retry':
      return outcome.status ?? 'unsent';
    default:
      return outcome.status;
  }
}
