export { AUDIT_CHAIN_LOCK_KEY, appendAudit, appendAudits } from './append-audit.js';
export {
  type AuditEntry,
  type AuditHead,
  canonicalEntry,
  GENESIS_HASH,
  hashEntry,
} from './entry-hash.js';
export { type AuditLine, exportAudit } from './export-audit.js';
export type { AuditRow } from './read-audit.js';
export { createSqliteAuditAppender } from './sqlite-audit-appender.js';
export {
  type AuditProblem,
  type AuditVerification,
  type VerifyAuditOptions,
  verifyAudit,
} from './verify-audit.js';
