import { describe, expect, it } from 'vitest';
import { catalogue } from './catalogue.js';

function inverseOf(
  operation: string,
  params: Record<string, unknown>,
  before: Record<string, unknown> | null,
) {
  const spec = catalogue.get(operation);
  if (!spec?.inverse) throw new Error(`${operation} has no inverse`);
  return spec.inverse(spec.params.parse(params), before);
}

describe('catalogue inverses', () => {
  it.each([
    ['ticket.set_status', { status: 'pending' }, { status: 'open' }, { status: 'open' }],
    ['ticket.assign', { assignee: 'bo' }, { assignee: 'ann' }, { assignee: 'ann' }],
    [
      'deal.set_stage',
      { stage: 'closedwon' },
      { stage: 'contractsent' },
      { stage: 'contractsent' },
    ],
    [
      'contact.update',
      { changes: { company: 'Beta', phone: '1' } },
      { company: 'Acme', phone: null },
      { changes: { company: 'Acme', phone: null } },
    ],
  ])('%s puts back what the effect says was there before', (operation, params, before, undo) => {
    expect(inverseOf(operation, params, before)).toEqual({ operation, params: undo });
  });

  it.each([
    ['ticket.set_status', { status: 'pending' }],
    ['ticket.assign', { assignee: 'bo' }],
    ['deal.set_stage', { stage: 'closedwon' }],
    ['contact.update', { changes: { company: 'Beta' } }],
  ])(
    '%s has no inverse when the state before is unknown, never a guessed null',
    (operation, params) => {
      // A write found by reconcile records no before-state; an effect may also lack a field.
      expect(inverseOf(operation, params, null)).toBeNull();
      expect(inverseOf(operation, params, {})).toBeNull();
    },
  );

  it('undoes only the tags a change changed, and nothing without the tags before', () => {
    const params = { add: ['vip', 'urgent'], remove: ['spam', 'new'] };
    expect(inverseOf('ticket.tag', params, { tags: ['vip', 'new'] })).toEqual({
      operation: 'ticket.tag',
      // 'vip' was there already and 'spam' was not: neither goes back.
      params: { add: ['new'], remove: ['urgent'] },
    });
    expect(inverseOf('ticket.tag', params, null)).toBeNull();
    expect(inverseOf('ticket.tag', params, {})).toBeNull();
  });
});
