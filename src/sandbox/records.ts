/** The sandbox's records, as held in memory. Revisions start at 1 and grow by one per change. */

export const TICKET_STATUSES = ['new', 'open', 'pending', 'hold', 'solved', 'closed'] as const;
/** A ticket's status, Zendesk's set. */
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** `message`: from the customer; `reply`: a public agent reply; `note`: internal, never sent. */
export const COMMENT_KINDS = ['message', 'reply', 'note'] as const;
export type CommentKind = (typeof COMMENT_KINDS)[number];

/** One comment on a ticket. */
export interface Comment {
  readonly id: string;
  readonly kind: CommentKind;
  readonly body: string;
  /** True for messages and replies: what the customer sees. */
  readonly public: boolean;
  /** The `X-Actor` of the request that added it. */
  readonly author: string | null;
  /** A caller's marker (Airlock's action id), searchable with `?marker=`. */
  readonly marker: string | null;
  readonly createdAt: string;
  /** The ticket's revision right after this comment was added. */
  readonly revision: number;
}

/** A helpdesk ticket; its comments are listed separately by the API. */
export interface Ticket {
  readonly id: string;
  subject: string;
  status: TicketStatus;
  assignee: string | null;
  tags: string[];
  requesterId: string | null;
  /** Free text, not unique (as Zendesk's `external_id`); listable with `?external_id=`. */
  externalId: string | null;
  lastCustomerMessageAt: string | null;
  lastAgentReplyAt: string | null;
  readonly createdAt: string;
  updatedAt: string;
  revision: number;
  readonly comments: Comment[];
}

/** The CRM's object types (singular, as record refs name them). */
export const CRM_TYPES = ['contact', 'deal', 'note', 'email'] as const;
export type CrmType = (typeof CRM_TYPES)[number];

/**
 * The record types of the sandbox's helpdesk, and of its CRM with the orders: the connector
 * `types` of one sandbox under two names (README "Agents and actions").
 */
export const SANDBOX_TYPES = {
  helpdesk: ['ticket'],
  crm: [...CRM_TYPES, 'order'],
} as const satisfies Record<string, readonly string[]>;

/** A CRM property value; HubSpot sends strings, the sandbox keeps what it was given. */
export type PropertyValue = string | number | boolean | null;

/** A link from a CRM object to another record (a note on a contact, a deal's contact). */
export interface Association {
  readonly type: string;
  readonly id: string;
}

/** A contact, deal, note or email, HubSpot-style: fields live in `properties`. */
export interface CrmObject {
  readonly id: string;
  readonly type: CrmType;
  readonly properties: Record<string, PropertyValue>;
  readonly associations: Association[];
  readonly createdAt: string;
  updatedAt: string;
  revision: number;
}

/** An order's life: open → paid → shipped, or cancelled before it ships. */
export const ORDER_STATUSES = ['open', 'paid', 'shipped', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** A discount applied to an order. */
export interface Discount {
  readonly id: string;
  readonly amount: number;
  readonly currency: string;
  readonly code: string | null;
  /** Unique across all orders: a second apply with the same key returns this discount. */
  readonly airlock_key: string | null;
  readonly createdAt: string;
}

/** An order with the discounts applied to it. */
export interface Order {
  readonly id: string;
  status: OrderStatus;
  readonly currency: string;
  /** Before discounts, in the currency's major unit. */
  readonly subtotal: number;
  /** After discounts; never below zero. */
  total: number;
  readonly contactId: string | null;
  readonly discounts: Discount[];
  cancelReason: string | null;
  readonly createdAt: string;
  updatedAt: string;
  revision: number;
}

/** A ticket as the API shows it: everything but its comments (`GET …/comments` has those). */
export function ticketView(ticket: Ticket): Record<string, unknown> {
  const { comments, ...fields } = ticket;
  return { ...fields, tags: [...fields.tags], commentCount: comments.length };
}

/** A CRM object in HubSpot's shape: id, properties, timestamps, plus its revision. */
export function crmView(object: CrmObject): Record<string, unknown> {
  return {
    id: object.id,
    type: object.type,
    properties: { ...object.properties },
    associations: object.associations.map((link) => ({ ...link })),
    createdAt: object.createdAt,
    updatedAt: object.updatedAt,
    revision: object.revision,
    archived: false,
  };
}

/** An order as the API shows it. */
export function orderView(order: Order): Record<string, unknown> {
  return { ...order, discounts: order.discounts.map((discount) => ({ ...discount })) };
}
