import type { Store } from '../store/index.js';
import type { TraceAuditEntry } from './trace-document.js';

/**
 * The audit entries about these subjects, in seq order. `audit_log` has no index on `subject`
 * (every index would cost each append a page write, migration 0005), so this reads the log
 * through: acceptable for a person asking why, not for anything run per request.
 */
export async function loadAudit(
  store: Store,
  subjects: readonly string[],
): Promise<TraceAuditEntry[]> {
  if (subjects.length === 0) return [];
  const rows = await store.db
    .selectFrom('audit_log')
    .select(['seq', 'at', 'kind', 'subject', 'change', 'data'])
    .where('subject', 'in', [...subjects])
    .orderBy('seq')
    .execute();
  return rows.map((row) => ({
    seq: row.seq,
    at: new Date(row.at).toISOString(),
    kind: row.kind,
    subject: row.subject,
    change: row.change,
    data: JSON.parse(row.data) as unknown,
  }));
}
