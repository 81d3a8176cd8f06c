import { describe, expect, it } from 'vitest';
import { type Subscription, subscribes, supersedable, typeMatches } from './subscriptions.js';

describe('typeMatches', () => {
  it.each<[string, string | null, boolean]>([
    ['*', null, true],
    ['*', 'anything', true],
    ['ticket.*', null, false],
    ['ticket.*', 'ticket.updated', true],
    ['ticket.*', 'zen:event-type:ticket.comment_added', true],
    ['ticket.*', 'contact.creation', false],
    ['ticket.created', 'ticket.created.later', false],
    // Case is ignored: providers spell one word differently.
    ['*message*', 'conversation.newMessage', true],
    ['*Message*', 'conversation.user.message', true],
    ['TICKET.*', 'ticket.updated', true],
    ['*comment*', 'zen:event-type:ticket.Comment_Added', true],
    // Globs are literal apart from `*`.
    ['ticket.(x)', 'ticket.(x)', true],
    ['ticket.(x)', 'ticketa(x)', false],
  ])('%s against %s: %s', (pattern, type, expected) => {
    expect(typeMatches(pattern, type)).toBe(expected);
  });
});

describe('a subscription with the default neverSupersede', () => {
  const subscription: Subscription = {
    agent: 'bot',
    events: ['conversation.*'],
    sources: null,
    suppressEchoes: true,
    settleMs: 0,
    neverSupersede: ['*comment*', '*message*'],
  };

  it("takes HubSpot's conversation.newMessage as news, never superseded", () => {
    expect(subscribes(subscription, 'crm', 'conversation.newMessage')).toBe(true);
    expect(supersedable(subscription, 'conversation.newMessage')).toBe(false);
    expect(supersedable(subscription, 'conversation.propertyChange')).toBe(true);
  });
});
