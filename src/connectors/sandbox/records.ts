import type { HttpResult, SandboxHttp } from './http.js';

/** The sandbox's record types, and the URL path of each (`ticket` → `/api/tickets/{id}`). */
const PATHS: Readonly<Record<string, string>> = {
  ticket: '/api/tickets',
  contact: '/crm/v3/objects/contacts',
  deal: '/crm/v3/objects/deals',
  note: '/crm/v3/objects/notes',
  email: '/crm/v3/objects/emails',
  order: '/orders',
};

/** A record as the sandbox holds it, flattened: CRM properties sit beside id and timestamps. */
export interface SandboxRecord {
  readonly revision: string;
  readonly data: Record<string, unknown>;
}

/** What reading one record came to. */
export type FetchedRecord =
  | { readonly kind: 'found'; readonly record: SandboxRecord }
  | { readonly kind: 'missing' }
  /** Transport failure, 5xx, 429 or an unexpected 4xx: the caller decides what that means. */
  | { readonly kind: 'failed'; readonly result: HttpResult };

/** Whether the sandbox has records of this type. */
export function isRecordType(type: string): boolean {
  return Object.hasOwn(PATHS, type);
}

/** The path of a record, or of a CRM record found by a unique property. */
export function recordPath(type: string, id: string, idProperty?: string): string {
  const query = idProperty ? `?idProperty=${encodeURIComponent(idProperty)}` : '';
  return `${PATHS[type]}/${encodeURIComponent(id)}${query}`;
}

/** The collection path of a type, for creates. */
export function collectionPath(type: string): string {
  return PATHS[type] ?? '/';
}

/** Reads one record; `idProperty` looks a CRM record up by a unique property instead of its id. */
export async function fetchRecord(
  http: SandboxHttp,
  type: string,
  id: string,
  idProperty?: string,
): Promise<FetchedRecord> {
  if (!isRecordType(type)) return { kind: 'missing' };
  const result = await http.call('GET', recordPath(type, id, idProperty));
  if (result.kind === 'response' && result.status === 404) return { kind: 'missing' };
  if (result.kind !== 'response' || result.status !== 200) return { kind: 'failed', result };
  return { kind: 'found', record: recordOf(type, result.body) };
}

/**
 * A record from an answer body: tickets and orders come wrapped (`{ ticket }`, `{ order }`),
 * CRM objects bare with their fields under `properties`.
 */
export function recordOf(type: string, body: unknown): SandboxRecord {
  const object = body as Record<string, unknown>;
  if (type === 'ticket' || type === 'order') {
    const record = object[type] as Record<string, unknown>;
    return { revision: String(record.revision), data: record };
  }
  const { properties, ...fields } = object;
  return {
    revision: String(object.revision),
    data: { ...fields, ...(properties as Record<string, unknown>) },
  };
}
