import { type DestinationStream, type Logger, pino } from 'pino';
import type { Config } from './config.js';

export type { Logger };

/** Never logged, whatever the config: the credentials a request can carry. */
const ALWAYS_REDACTED = ['req.headers.authorization', 'req.headers.cookie'];

/**
 * The gateway's logger (pino, as Fastify uses): JSON lines on stdout at `log.level`. Log lines
 * about events and actions carry `event_id`, `source`, `record` (system:type:id), `operation`,
 * `action_id`, `idempotency_key` and `agent`. Credentials are always redacted, and so is every
 * path the config lists in `log.redact` (PII a deployment keeps out of its logs, e.g.
 * `params.body`).
 */
export function createLogger(config: Config['log'], destination?: DestinationStream): Logger {
  return pino(
    {
      level: config.level,
      redact: { paths: [...ALWAYS_REDACTED, ...config.redact], censor: '[redacted]' },
    },
    destination,
  );
}

/** Whether pino can redact `path` (it refuses a malformed one when the logger is built). */
export function isRedactPath(path: string): boolean {
  try {
    pino({ enabled: false, redact: [path] });
    return true;
  } catch {
    return false;
  }
}
