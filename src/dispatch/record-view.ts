import type { Connector, RecordRef } from '../connectors/connector.js';
import { AppError } from '../errors.js';
import type { RecordView } from './wire.js';

/**
 * A record as it is now, read through its system's connector, for an agent to decide on (the
 * revision goes back as `basis.revision`). Throws `unknown-system` (404), `record-not-found`
 * (404), a 4xx of the connector's (`invalid-target`), or `system-unavailable` (502) when the
 * system could not be read.
 */
export async function readRecordView(
  connectors: ReadonlyMap<string, Connector>,
  ref: RecordRef,
  now: number,
): Promise<RecordView> {
  const connector = connectors.get(ref.system);
  if (!connector) {
    throw new AppError('unknown-system', 404, `no connector for system ${ref.system}`, {
      details: { system: ref.system, systems: [...connectors.keys()] },
    });
  }
  let snapshot: Awaited<ReturnType<Connector['read']>>;
  try {
    snapshot = await connector.read(ref);
  } catch (cause) {
    // The caller's mistake (a type the system does not serve, an id it refuses) stays theirs.
    if (cause instanceof AppError && cause.status < 500) throw cause;
    throw new AppError('system-unavailable', 502, `${ref.system} could not be read`, {
      cause,
      details: { system: ref.system },
    });
  }
  if (!snapshot) {
    throw new AppError(
      'record-not-found',
      404,
      `${ref.system}:${ref.type}:${ref.id} does not exist`,
      {
        details: { record: ref },
      },
    );
  }
  return {
    record: { system: ref.system, type: ref.type, id: ref.id },
    revision: snapshot.revision,
    fields: { ...snapshot.data },
    readAt: new Date(now).toISOString(),
  };
}
