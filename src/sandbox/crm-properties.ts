import { z } from 'zod';
import { AppError } from '../errors.js';
import type { CrmType, PropertyValue } from './records.js';

/** URL segment → record type: `/crm/v3/objects/contacts` holds contacts. */
export const CRM_PATH_TYPES: Readonly<Record<string, CrmType>> = {
  contacts: 'contact',
  deals: 'deal',
  notes: 'note',
  emails: 'email',
};

/** The properties each type has; anything else is refused, as HubSpot refuses unknown ones. */
const PROPERTIES: Readonly<Record<CrmType, readonly string[]>> = {
  contact: ['email', 'name', 'phone', 'company', 'lifecyclestage', 'airlock_key'],
  deal: ['dealname', 'dealstage', 'amount', 'pipeline', 'airlock_key'],
  note: ['hs_note_body', 'airlock_key'],
  email: ['hs_email_subject', 'hs_email_text', 'hs_email_to', 'airlock_key'],
};

/**
 * Properties whose value identifies one record (HubSpot `hasUniqueValue`): contacts' `email`,
 * and the custom `airlock_key` that Airlock writes its idempotency key into.
 */
export const UNIQUE_PROPERTIES: Readonly<Record<CrmType, readonly string[]>> = {
  contact: ['email', 'airlock_key'],
  deal: ['airlock_key'],
  note: ['airlock_key'],
  email: ['airlock_key'],
};

const REQUIRED_ON_CREATE: Readonly<Record<CrmType, readonly string[]>> = {
  contact: [],
  deal: ['dealname'],
  note: ['hs_note_body'],
  email: ['hs_email_subject'],
};

/** HubSpot's default sales pipeline. */
export const DEAL_STAGES = [
  'appointmentscheduled',
  'qualifiedtobuy',
  'presentationscheduled',
  'decisionmakerboughtin',
  'contractsent',
  'closedwon',
  'closedlost',
] as const;

/** A `properties` object: names to string, number, boolean or null (null clears). */
export const propertiesSchema = z.record(
  z.string().min(1).max(100),
  z.union([z.string().max(65_536), z.number(), z.boolean(), z.null()]),
);

/** Refuses unknown properties, a missing required one (on create), an unknown deal stage. */
export function checkProperties(
  type: CrmType,
  properties: Readonly<Record<string, PropertyValue>>,
  creating: boolean,
): void {
  const known = PROPERTIES[type];
  const unknown = Object.keys(properties).filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new AppError('unknown-property', 400, `${type} has no property ${unknown.join(', ')}`, {
      details: { category: 'VALIDATION_ERROR', properties: unknown },
    });
  }
  const missing = creating
    ? REQUIRED_ON_CREATE[type].filter((name) => !isSet(properties[name]))
    : [];
  if (missing.length > 0) {
    throw new AppError('missing-property', 400, `a ${type} needs ${missing.join(', ')}`);
  }
  const stage = properties.dealstage;
  if (type === 'deal' && stage !== undefined && !DEAL_STAGES.includes(stage as never)) {
    throw new AppError('invalid-property', 400, `dealstage ${String(stage)} is not a stage`, {
      details: { stages: DEAL_STAGES },
    });
  }
  for (const name of UNIQUE_PROPERTIES[type]) {
    const value = properties[name];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new AppError('invalid-property', 400, `${name} must be a string`);
    }
  }
}

/** Whether `property` identifies a record of `type` (usable as `idProperty`). */
export function isUniqueProperty(type: CrmType, property: string): boolean {
  return UNIQUE_PROPERTIES[type].includes(property);
}

/** The index key of a unique value; email is case-insensitive, as in HubSpot. Null: no value. */
export function uniqueKey(type: CrmType, property: string, value: unknown): string | null {
  if (!isSet(value)) return null;
  const text = property === 'email' ? String(value).trim().toLowerCase() : String(value);
  return `${type}\u0000${property}\u0000${text}`;
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}
