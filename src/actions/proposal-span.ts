import type { Attributes, Span } from '@opentelemetry/api';
import { recordError } from '../telemetry/index.js';
import type { ProposalAnswer } from './propose-action.js';

/**
 * What an `action.propose` span says of the request: taken from the body as sent, before it is
 * validated, so a refused proposal is still findable by what it asked for.
 */
export function proposalAttributes(
  agent: string,
  idempotencyKey: string | undefined,
  body: unknown,
): Attributes {
  const { operation, target } = (body ?? {}) as { operation?: unknown; target?: unknown };
  const { system, type, id } = (target ?? {}) as Record<string, unknown>;
  return {
    'airlock.agent': agent,
    'airlock.idempotency_key': idempotencyKey,
    'airlock.operation': typeof operation === 'string' ? operation : undefined,
    'airlock.record':
      typeof system === 'string' && typeof type === 'string' && typeof id === 'string'
        ? `${system}:${type}:${id}`
        : undefined,
  };
}

/** The answer on the span: status, the action it concerns, and its outcome or error code. */
export function recordAnswer(span: Span, answer: ProposalAnswer): void {
  span.setAttribute('airlock.replayed', answer.replayed);
  if (answer.kind === 'error') {
    const { action } = answer.error.details;
    span.setAttributes({
      'http.response.status_code': answer.error.status,
      'airlock.outcome': answer.error.code,
      'airlock.action_id': typeof action === 'string' ? action : undefined,
    });
    recordError(span, answer.error);
    return;
  }
  const { body } = answer;
  span.setAttributes({
    'http.response.status_code': answer.status,
    'airlock.outcome': 'dryRun' in body ? 'dry_run' : body.status,
    'airlock.action_id': 'action' in body ? body.action : undefined,
  });
}
