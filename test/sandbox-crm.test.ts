import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox } from '../src/sandbox/index.js';
import { call, startSandbox } from './helpers/sandbox.js';

let sandbox: Sandbox & { url: string };
afterEach(() => sandbox?.close());

const CONTACTS = '/crm/v3/objects/contacts';

async function createContact(properties: Record<string, unknown>) {
  return call(sandbox.url, 'POST', CONTACTS, { properties });
}

describe('sandbox CRM (HubSpot profile)', () => {
  it('has no conditional update: a stale expected revision is ignored and the write applies', async () => {
    sandbox = await startSandbox();
    const created = await createContact({ email: 'ada@example.com', name: 'Ada' });
    const id = created.body.id;
    await call(sandbox.url, 'PATCH', `${CONTACTS}/${id}`, { properties: { phone: '1' } });

    const blind = await call(sandbox.url, 'PATCH', `${CONTACTS}/${id}`, {
      expectedRevision: 1,
      properties: { name: 'Ada L.' },
    });
    expect(blind.status).toBe(200);
    expect(blind.body).toMatchObject({ revision: 3, properties: { name: 'Ada L.', phone: '1' } });
  });

  it('refuses a second record with a taken unique value: 409 with the existing id', async () => {
    sandbox = await startSandbox();
    const first = await createContact({ email: 'ada@example.com' });
    expect(first.status).toBe(201);

    // Email is unique case-insensitively, as in HubSpot.
    const dup = await createContact({ email: 'ADA@example.com', name: 'Other' });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({
      type: 'urn:airlock:problem:unique-value-taken',
      category: 'OBJECT_ALREADY_EXISTS',
      property: 'email',
      existingId: first.body.id,
      detail: `Contact already exists. Existing ID: ${first.body.id}`,
    });

    const note = {
      properties: { hs_note_body: 'hi', airlock_key: 'k1' },
      associations: [{ type: 'contact', id: first.body.id }],
    };
    const n1 = await call(sandbox.url, 'POST', '/crm/v3/objects/notes', note);
    const n2 = await call(sandbox.url, 'POST', '/crm/v3/objects/notes', note);
    expect([n1.status, n2.status]).toEqual([201, 409]);
    expect(n2.body).toMatchObject({ property: 'airlock_key', existingId: n1.body.id });

    // Changing a contact's email to a taken one is refused the same way.
    const second = await createContact({ email: 'bo@example.com' });
    const steal = await call(sandbox.url, 'PATCH', `${CONTACTS}/${second.body.id}`, {
      properties: { email: 'ada@example.com' },
    });
    expect(steal.status).toBe(409);
    expect(sandbox.state.writes.map((w) => w.operation)).toEqual([
      'contact.create',
      'note.create',
      'contact.create',
    ]);
  });

  it('looks records up by a unique property', async () => {
    sandbox = await startSandbox();
    const created = await createContact({ email: 'ada@example.com', airlock_key: 'agent:k1' });
    for (const [value, property] of [
      ['ada@example.com', 'email'],
      ['agent:k1', 'airlock_key'],
    ]) {
      const found = await call(
        sandbox.url,
        'GET',
        `${CONTACTS}/${encodeURIComponent(value ?? '')}?idProperty=${property}`,
      );
      expect(found.status).toBe(200);
      expect(found.body.id).toBe(created.body.id);
    }
    expect(
      (await call(sandbox.url, 'GET', `${CONTACTS}/nobody@example.com?idProperty=email`)).status,
    ).toBe(404);
    const notUnique = await call(sandbox.url, 'GET', `${CONTACTS}/Ada?idProperty=name`);
    expect(notUnique.status).toBe(400);
    expect(notUnique.body.type).toBe('urn:airlock:problem:invalid-id-property');
  });

  it('upserts by a unique property and says whether the record is new', async () => {
    sandbox = await startSandbox();
    const upsert = (name: string) =>
      call(sandbox.url, 'POST', `${CONTACTS}/batch/upsert`, {
        inputs: [{ id: 'ada@example.com', idProperty: 'email', properties: { name } }],
      });
    const first = await upsert('Ada');
    expect(first.status).toBe(200);
    expect(first.body.results[0]).toMatchObject({
      new: true,
      properties: { email: 'ada@example.com', name: 'Ada' },
    });
    const second = await upsert('Ada Lovelace');
    expect(second.body.results[0]).toMatchObject({
      new: false,
      id: first.body.results[0].id,
      revision: 2,
    });
    const third = await upsert('Ada Lovelace');
    expect(third.body.results[0]).toMatchObject({ new: false, revision: 2 });
    expect([...sandbox.state.crm.values()]).toHaveLength(1);
    expect(sandbox.state.writes.map((w) => w.operation)).toEqual([
      'contact.upsert',
      'contact.upsert',
    ]);
  });

  it('answers bad input with a 4xx problem', async () => {
    sandbox = await startSandbox();
    const contact = await createContact({ email: 'ada@example.com' });
    const cases: [string, string, unknown, number, string][] = [
      ['POST', CONTACTS, { properties: { shoe_size: 42 } }, 400, 'unknown-property'],
      ['POST', CONTACTS, { properties: { email: 7 } }, 400, 'invalid-property'],
      ['POST', CONTACTS, { nothing: true }, 400, 'invalid-request'],
      ['POST', '/crm/v3/objects/invoices', { properties: {} }, 404, 'not-found'],
      [
        'POST',
        '/crm/v3/objects/deals',
        { properties: { dealname: 'D', dealstage: 'won-ish' } },
        400,
        'invalid-property',
      ],
      ['POST', '/crm/v3/objects/notes', { properties: {} }, 400, 'missing-property'],
      [
        'POST',
        '/crm/v3/objects/notes',
        { properties: { hs_note_body: 'x' }, associations: [{ type: 'contact', id: '1' }] },
        400,
        'invalid-association',
      ],
      ['PATCH', `${CONTACTS}/999`, { properties: { name: 'x' } }, 404, 'not-found'],
      [
        'POST',
        `${CONTACTS}/batch/upsert`,
        { inputs: [{ id: 'x', idProperty: 'name', properties: {} }] },
        400,
        'invalid-id-property',
      ],
      ['GET', `/crm/v3/objects/deals/${contact.body.id}`, undefined, 404, 'not-found'],
      ['GET', `${CONTACTS}/%ff`, undefined, 400, 'bad-url'],
      // Ids as long as the gateway's target ids (500) are looked up; longer ones are refused.
      ['GET', `${CONTACTS}/${'é'.repeat(500)}`, undefined, 404, 'not-found'],
      ['GET', `${CONTACTS}/${'x'.repeat(501)}`, undefined, 414, 'url-too-long'],
    ];
    for (const [method, where, body, status, code] of cases) {
      const answer = await call(sandbox.url, method, where, body);
      expect({ where, body, status: answer.status, type: answer.body?.type }).toEqual({
        where,
        body,
        status,
        type: `urn:airlock:problem:${code}`,
      });
    }
    expect(sandbox.state.writes).toHaveLength(1);
  });
});
