import { describe, expect, it } from 'vitest';
import { sentence } from './format.js';

describe('sentence', () => {
  it('capitalises a first plain word and ends with a full stop', () => {
    expect(sentence('action act_1 is executed')).toBe('Action act_1 is executed.');
    expect(sentence(' nothing to redeliver! ')).toBe('Nothing to redeliver!');
  });

  it('leaves an id or a name that begins the message as it is', () => {
    // "Evt_01…" named an event that does not exist.
    expect(sentence('evt_01a2466898d671c1ba5ac5579dca5dfb has no dead-lettered delivery')).toBe(
      'evt_01a2466898d671c1ba5ac5579dca5dfb has no dead-lettered delivery.',
    );
    expect(sentence('support-bot may not propose order.cancel')).toBe(
      'support-bot may not propose order.cancel.',
    );
  });
});
