import type { SeedInput } from './seed.js';

/** What the built-in sandbox of the embedded demo starts with: ids 1001, 1002, … in this order. */
export const DEMO_RECORDS: SeedInput = {
  contacts: [
    {
      properties: { email: 'ada@example.com', name: 'Ada Lovelace', company: 'Analytical Engines' },
    },
    { properties: { email: 'grace@example.com', name: 'Grace Hopper', company: 'Compilers Inc' } },
  ],
  tickets: [
    { subject: 'Where is my order?', requesterId: '1001' },
    { subject: 'Please cancel my subscription', requesterId: '1002' },
  ],
  orders: [{ currency: 'EUR', subtotal: 129.9, contactId: '1001' }],
};
