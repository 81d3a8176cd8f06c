import type { Generated } from 'kysely';

/** A webhook request as received: raw bytes kept for audit and replay. */
export interface WebhookRequestTable {
  id: string;
  source: string;
  received_at: number;
  /** JSON object of the request headers, lower-cased names. */
  headers: string;
  body: Buffer;
}

/** One provider event in the inbox. Unique per (source, dedup_key). */
export interface EventTable {
  id: string;
  source: string;
  dedup_key: string;
  provider_event_id: string;
  request_id: string;
  /** Position in a batched request body (HubSpot); null for single-event bodies. */
  item_index: number | null;
  type: string | null;
  record_system: string | null;
  record_type: string | null;
  record_id: string | null;
  occurred_at: number | null;
  received_at: number;
  /** How many later deliveries of this event were recognised as duplicates. */
  duplicates: Generated<number>;
  last_duplicate_at: number | null;
}

export interface MigrationTable {
  name: string;
  applied_at: number;
}

export type IdempotencyState = 'in_flight' | 'done';

export interface IdempotencyKeyTable {
  agent: string;
  key: string;
  /** SHA-256 of the request's canonical form: the same key with another body is refused. */
  fingerprint: string;
  state: IdempotencyState;
  /** While in flight: after this the claim is abandoned (its holder died) and may be taken over. */
  locked_until: number;
  response_status: number | null;
  /** JSON of the stored answer, replayed for a repeat of the request. */
  response_body: string | null;
  action_id: string | null;
  created_at: number;
}

export type ActionStatus =
  | 'queued'
  | 'executing'
  | 'executed'
  | 'pending_approval'
  | 'failed'
  | 'stale'
  | 'denied'
  | 'dead'
  /** Its approval was rejected, or ran out: never executed. */
  | 'rejected'
  | 'expired';

export interface ActionTable {
  id: string;
  agent: string;
  idempotency_key: string;
  operation: string;
  /** `system:type:id` of the target: actions on one record run one after the other. */
  record_key: string;
  /** JSON documents. */
  target: string;
  params: string;
  basis: string | null;
  decision: string | null;
  status: ActionStatus;
  verdict: string | null;
  expected_revision: string | null;
  effect: string | null;
  error: string | null;
  attempts: Generated<number>;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_until: number | null;
  created_at: number;
  updated_at: number;
  /** When the last attempt's write was sent (epoch ms); null before any, and in rows from before. */
  sent_at: number | null;
}

export interface RateLimitSlotTable {
  rule: string;
  scope: string;
  slot: number;
  action_id: string;
  expires_at: number;
}

export interface AgentTable {
  name: string;
  key_sha256: string;
  /** JSON array of operation names. */
  operations: string;
  created_at: number;
}

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'stale';

export interface ApprovalTable {
  /** `apr_…`. */
  id: string;
  action_id: string;
  agent: string;
  operation: string;
  /** JSON of the target record ref. */
  target: string;
  /** SHA-256 of the canonical params: nothing else can be executed under this approval. */
  params_digest: string;
  /** The revision the proposal was checked on; approving checks the record is still there. */
  basis_revision: string | null;
  /** policyVersion of the rules that asked for the approval. */
  policy_version: string;
  /** Why it needs a human: the rule's reason, or the operation's risk. */
  reason: string;
  status: ApprovalStatus;
  expires_at: number;
  /** Operator name (`cli:<user>` from the CLI). */
  decided_by: string | null;
  decided_at: number | null;
  comment: string | null;
  /** JSON: for `stale`, what changed. */
  outcome: string | null;
  created_at: number;
  /** JSON of the record's fields as read when the approval was asked for; null for a create. */
  record_fields: string | null;
}

export type AuditKind = 'event' | 'action' | 'approval' | 'execution';

/** One entry of the hash-chained audit log (src/audit/README.md). Rows are only ever appended. */
export interface AuditTable {
  /** 1, 2, 3… without gaps: a gap is a deleted entry. */
  seq: number;
  /** Epoch milliseconds. */
  at: number;
  kind: AuditKind;
  /** The id of the event, action, approval or execution that changed. */
  subject: string;
  /** What happened to it: `received`, `accepted`, `approved`, `executed`… */
  change: string;
  /** Canonical JSON (sorted keys) of the details; hashed as stored. */
  data: string;
  /** The previous entry's hash; the genesis hash (64 zeros) for entry 1. */
  prev_hash: string;
  /** SHA-256 hex over prev_hash and this entry's canonical form. */
  hash: string;
}

/**
 * Where one event stands with one agent: `pending` (waiting its turn or its next attempt),
 * `leased` (handed over, not yet acknowledged), `acked`, `dead` (attempts ran out), `echo` (caused
 * by an Airlock action: not handed over as news), `superseded` (older than an event already
 * delivered for its record).
 */
export type DeliveryStatus = 'pending' | 'leased' | 'acked' | 'dead' | 'echo' | 'superseded';

export interface DeliveryTable {
  agent: string;
  event_id: string;
  /** The event's audit sequence number: commit order, the order of delivery per record. */
  seq: number;
  /** `system:type:id`, or `event:<id>` for an event about no record. */
  record_key: string;
  occurred_at: number | null;
  status: DeliveryStatus;
  /** The action whose write caused this event, when it is an echo of one. */
  echo_of: string | null;
  /** `dlv_…`: the rows handed over together; kept across attempts, so a retry is the same. */
  delivery_id: string | null;
  attempts: Generated<number>;
  next_attempt_at: number;
  lease_until: number | null;
  /** The record's revision in the context of the last hand-over. */
  context_revision: string | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  /** 0 for news however late (a message, a comment): never superseded. */
  supersedable: Generated<number>;
}

/** How far each agent's subscription has looked at the audit log for new events. */
export interface DispatchCursorTable {
  agent: string;
  seq: number;
}

/** A push endpoint that answered 410 Gone: nothing is pushed to it until it is enabled again. */
export interface AgentEndpointTable {
  agent: string;
  disabled_at: number;
  reason: string;
}

/** What an activity count counts (src/store/migrations/0007-dashboard.ts). */
export type ActivityKind = 'webhook_rejected' | 'connector_error' | 'write_prevented';

/**
 * Occurrences of one kind, subject and reason within one minute. `subject` is a configured
 * source or system name (`(unknown)` for a source not configured), or `-` where there is none;
 * `reason` an error code, HTTP status or class of prevented write.
 */
export interface ActivityCountTable {
  kind: ActivityKind;
  subject: string;
  reason: string;
  /** Epoch milliseconds at the start of the minute. */
  minute: number;
  count: number;
  /** Epoch milliseconds of the latest occurrence counted. */
  last_at: number;
}

/** A dashboard sign-in. Ended by signing out, by its expiry, or by the operator's token changing. */
export interface OperatorSessionTable {
  /** SHA-256 hex of the random id the session cookie holds. */
  id_sha256: string;
  operator: string;
  /** The operator's `tokenSha256` at sign-in: a rotated token ends its sessions. */
  token_sha256: string;
  created_at: number;
  expires_at: number;
}

export interface Database {
  airlock_migrations: MigrationTable;
  webhook_requests: WebhookRequestTable;
  events: EventTable;
  idempotency_keys: IdempotencyKeyTable;
  actions: ActionTable;
  rate_limit_slots: RateLimitSlotTable;
  agents: AgentTable;
  approvals: ApprovalTable;
  audit_log: AuditTable;
  deliveries: DeliveryTable;
  dispatch_cursors: DispatchCursorTable;
  agent_endpoints: AgentEndpointTable;
  activity_counts: ActivityCountTable;
  operator_sessions: OperatorSessionTable;
}
