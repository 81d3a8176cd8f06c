/**
 * `word` with its indefinite article, by its first letter (quotes and backticks skipped):
 * `an approver`, `a ticket`, ``an `order` ``.
 */
export function withArticle(word: string): string {
  return `${/^[^a-z]*[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
}
