import { createHmac, randomUUID } from 'node:crypto';
import type { Comment } from './records.js';
import type { AppliedWrite, FieldChange } from './state.js';

/** The account id the sandbox's helpdesk webhooks name. */
export const ZENDESK_ACCOUNT_ID = 1_000_001;

/** The event type per changed ticket field, as Zendesk names its ticket events. */
const EVENT_OF_FIELD: Readonly<Record<string, string>> = {
  status: 'status_changed',
  assignee: 'agent_assignment_changed',
  tags: 'tags_changed',
  subject: 'subject_changed',
  comment: 'comment_added',
  externalId: 'external_id_changed',
};

/**
 * Zendesk event webhook payloads for one helpdesk write: `ticket.created` for a create, one
 * event per changed field for an update. Each has a unique `id`; `detail` is the ticket after
 * the write (ids as strings, as Zendesk sends them) with its `revision` and who wrote it.
 */
export function zendeskEvents(write: AppliedWrite): Record<string, unknown>[] {
  const base = {
    account_id: ZENDESK_ACCOUNT_ID,
    time: write.at,
    zendesk_event_version: '2022-06-20',
    subject: `zen:ticket:${write.record.id}`,
    detail: detailOf(write),
  };
  if (write.kind === 'created') {
    return [{ ...base, id: randomUUID(), type: 'zen:event-type:ticket.created', event: {} }];
  }
  return write.changes.map((change) => ({
    ...base,
    id: randomUUID(),
    type: `zen:event-type:ticket.${EVENT_OF_FIELD[change.field] ?? `${change.field}_changed`}`,
    event: eventOf(change),
  }));
}

/** Headers of a Zendesk webhook request: base64 HMAC-SHA256 over TIMESTAMP + BODY. */
export function zendeskHeaders(
  body: string,
  secret: string,
  timestamp: string,
): Record<string, string> {
  const signature = createHmac('sha256', secret).update(timestamp).update(body).digest('base64');
  return {
    'content-type': 'application/json',
    'x-zendesk-account-id': String(ZENDESK_ACCOUNT_ID),
    'x-zendesk-webhook-id': 'sandbox-helpdesk',
    'x-zendesk-webhook-invocation-id': randomUUID(),
    'x-zendesk-webhook-signature': signature,
    'x-zendesk-webhook-signature-timestamp': timestamp,
  };
}

function detailOf(write: AppliedWrite): Record<string, unknown> {
  const ticket = write.snapshot;
  return {
    id: String(ticket.id),
    subject: ticket.subject,
    status: ticket.status,
    assignee: ticket.assignee,
    tags: ticket.tags,
    requester_id: ticket.requesterId,
    external_id: ticket.externalId,
    created_at: ticket.createdAt,
    updated_at: ticket.updatedAt,
    last_customer_message_at: ticket.lastCustomerMessageAt,
    last_agent_reply_at: ticket.lastAgentReplyAt,
    revision: String(write.revision),
    actor: write.actor,
    action_id: write.actionId,
  };
}

function eventOf(change: FieldChange): Record<string, unknown> {
  if (change.field === 'comment') {
    const comment = change.value as Comment;
    return {
      comment: {
        id: comment.id,
        kind: comment.kind,
        body: comment.body,
        is_public: comment.public,
        author: comment.author,
        marker: comment.marker,
      },
    };
  }
  if (change.field === 'tags') {
    const previous = change.previous as string[];
    const current = change.value as string[];
    return {
      tags_added: current.filter((tag) => !previous.includes(tag)),
      tags_removed: previous.filter((tag) => !current.includes(tag)),
    };
  }
  return { current: change.value, previous: change.previous };
}
