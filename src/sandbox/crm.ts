import { z } from 'zod';
import { AppError } from '../errors.js';
import {
  CRM_PATH_TYPES,
  checkProperties,
  isUniqueProperty,
  propertiesSchema,
  UNIQUE_PROPERTIES,
  uniqueKey,
} from './crm-properties.js';
import {
  type Association,
  type CrmObject,
  type CrmType,
  crmView,
  type PropertyValue,
} from './records.js';
import { notFound } from './request.js';
import {
  type Actor,
  commitWrite,
  type FieldChange,
  isoNow,
  nextId,
  type SandboxState,
} from './state.js';

const associationSchema = z.strictObject({
  type: z.enum(['contact', 'deal', 'ticket', 'order']),
  id: z.string().min(1).max(50),
});

// Unknown top-level members (an `expectedRevision`, say) are ignored, not refused: HubSpot has
// no conditional update, and a caller that sends one must not believe it was honoured.
/** `POST /crm/v3/objects/:objectType` body. */
export const crmCreateSchema = z.object({
  properties: propertiesSchema,
  associations: z.array(associationSchema).max(100).optional(),
});
/** `PATCH /crm/v3/objects/:objectType/:id` body. */
export const crmUpdateSchema = z.object({ properties: propertiesSchema });
/** `POST /crm/v3/objects/:objectType/batch/upsert` body (HubSpot's shape). */
export const crmUpsertSchema = z.object({
  inputs: z
    .array(
      z.object({
        id: z.string().min(1).max(500),
        idProperty: z.string().min(1),
        properties: propertiesSchema,
      }),
    )
    .min(1)
    .max(100),
});

/** The record type of a `/crm/v3/objects/:objectType` path; 404 for a type the CRM lacks. */
export function crmTypeOfPath(segment: string): CrmType {
  const type = CRM_PATH_TYPES[segment];
  if (!type) throw new AppError('not-found', 404, `the CRM has no object type ${segment}`);
  return type;
}

/**
 * A record by id, or by the value of a unique property when `idProperty` is given
 * (HubSpot `GET …/{value}?idProperty=`); 404 when there is none.
 */
export function findCrmObject(
  state: SandboxState,
  type: CrmType,
  idOrValue: string,
  idProperty?: string,
): CrmObject {
  const found = lookup(state, type, idOrValue, idProperty);
  if (!found) throw notFound(type, idOrValue);
  return found;
}

/** Creates a record; 409 `unique-value-taken` with the existing id when a unique value is taken. */
export function createCrmObject(
  state: SandboxState,
  type: CrmType,
  input: z.output<typeof crmCreateSchema>,
  by: Actor,
  operation = `${type}.create`,
): CrmObject {
  checkProperties(type, input.properties, true);
  checkUnique(state, type, input.properties, null);
  const associations = (input.associations ?? []).map((link) => checkAssociation(state, link));
  const at = isoNow(state);
  const object: CrmObject = {
    id: nextId(state),
    type,
    properties: { ...input.properties },
    associations,
    createdAt: at,
    updatedAt: at,
    revision: 1,
  };
  state.crm.set(object.id, object);
  indexUnique(state, object, {});
  const changes = Object.entries(object.properties).map(([field, value]) => ({
    field,
    previous: null,
    value,
  }));
  commitWrite(state, {
    ...by,
    operation,
    system: 'crm',
    kind: 'created',
    record: { type, id: object.id },
    revision: 1,
    changes,
    snapshot: crmView(object),
  });
  return object;
}

/**
 * Overwrites the given properties, unconditionally (HubSpot PATCH). Setting a unique value that
 * another record holds is a 409. Changing nothing keeps the revision and is not a write.
 */
export function updateCrmObject(
  state: SandboxState,
  object: CrmObject,
  properties: Readonly<Record<string, PropertyValue>>,
  by: Actor,
  operation = `${object.type}.update`,
): CrmObject {
  checkProperties(object.type, properties, false);
  checkUnique(state, object.type, properties, object.id);
  const changes: FieldChange[] = [];
  const before = { ...object.properties };
  for (const [field, value] of Object.entries(properties)) {
    if ((object.properties[field] ?? null) === value) continue;
    changes.push({ field, previous: object.properties[field] ?? null, value });
    object.properties[field] = value;
  }
  if (changes.length === 0) return object;
  object.revision += 1;
  object.updatedAt = isoNow(state);
  indexUnique(state, object, before);
  commitWrite(state, {
    ...by,
    operation,
    system: 'crm',
    kind: 'updated',
    record: { type: object.type, id: object.id },
    revision: object.revision,
    changes,
    snapshot: crmView(object),
  });
  return object;
}

/**
 * HubSpot `batch/upsert`: each input finds its record by `idProperty` = `id` and updates it, or
 * creates it with that value. Every input is checked before any is applied.
 */
export function upsertCrmObjects(
  state: SandboxState,
  type: CrmType,
  input: z.output<typeof crmUpsertSchema>,
  by: Actor,
): { object: CrmObject; created: boolean }[] {
  const seen = new Set<string>();
  const plans = input.inputs.map((item) => {
    if (!isUniqueProperty(type, item.idProperty)) {
      throw new AppError(
        'invalid-id-property',
        400,
        `${item.idProperty} is not a unique ${type} property`,
      );
    }
    const key = uniqueKey(type, item.idProperty, item.id) ?? '';
    if (seen.has(key)) throw new AppError('duplicate-input', 400, `${item.id} appears twice`);
    seen.add(key);
    const properties = { ...item.properties, [item.idProperty]: item.id };
    const existing = lookup(state, type, item.id, item.idProperty);
    checkProperties(type, properties, existing === null);
    checkUnique(state, type, properties, existing?.id ?? null);
    return { existing, properties };
  });
  return plans.map(({ existing, properties }) =>
    existing
      ? {
          object: updateCrmObject(state, existing, properties, by, `${type}.upsert`),
          created: false,
        }
      : {
          object: createCrmObject(state, type, { properties }, by, `${type}.upsert`),
          created: true,
        },
  );
}

function lookup(
  state: SandboxState,
  type: CrmType,
  idOrValue: string,
  idProperty?: string,
): CrmObject | null {
  if (idProperty === undefined || idProperty === 'hs_object_id') {
    const object = state.crm.get(idOrValue);
    return object?.type === type ? object : null;
  }
  if (!isUniqueProperty(type, idProperty)) {
    throw new AppError(
      'invalid-id-property',
      400,
      `${idProperty} is not a unique ${type} property`,
    );
  }
  const key = uniqueKey(type, idProperty, idOrValue);
  const id = key === null ? undefined : state.uniqueValues.get(key);
  return id === undefined ? null : (state.crm.get(id) ?? null);
}

/** 409 when a unique value in `properties` is held by a record other than `selfId`. */
function checkUnique(
  state: SandboxState,
  type: CrmType,
  properties: Readonly<Record<string, PropertyValue>>,
  selfId: string | null,
): void {
  for (const property of UNIQUE_PROPERTIES[type]) {
    const key = uniqueKey(type, property, properties[property]);
    const holder = key === null ? undefined : state.uniqueValues.get(key);
    if (holder === undefined || holder === selfId) continue;
    const label = type.charAt(0).toUpperCase() + type.slice(1);
    throw new AppError(
      'unique-value-taken',
      409,
      `${label} already exists. Existing ID: ${holder}`,
      { details: { category: 'OBJECT_ALREADY_EXISTS', property, existingId: holder } },
    );
  }
}

function indexUnique(
  state: SandboxState,
  object: CrmObject,
  before: Readonly<Record<string, PropertyValue>>,
): void {
  for (const property of UNIQUE_PROPERTIES[object.type]) {
    const old = uniqueKey(object.type, property, before[property]);
    if (old !== null && state.uniqueValues.get(old) === object.id) state.uniqueValues.delete(old);
    const now = uniqueKey(object.type, property, object.properties[property]);
    if (now !== null) state.uniqueValues.set(now, object.id);
  }
}

function checkAssociation(
  state: SandboxState,
  link: z.output<typeof associationSchema>,
): Association {
  const exists =
    link.type === 'ticket'
      ? state.tickets.has(link.id)
      : link.type === 'order'
        ? state.orders.has(link.id)
        : state.crm.get(link.id)?.type === link.type;
  if (!exists) {
    throw new AppError('invalid-association', 400, `no ${link.type} ${link.id} to associate with`);
  }
  return { type: link.type, id: link.id };
}
