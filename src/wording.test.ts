import { describe, expect, it } from 'vitest';
import { withArticle } from './wording.js';

describe('withArticle', () => {
  it('says an before a vowel and a before anything else, quoted or not', () => {
    expect(withArticle('approver')).toBe('an approver');
    expect(withArticle('viewer')).toBe('a viewer');
    expect(withArticle('`order`')).toBe('an `order`');
    expect(withArticle('`ticket`')).toBe('a `ticket`');
  });
});
