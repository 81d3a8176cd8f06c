import { type Html, html } from '../html.js';

/** A link to the next page of a list (older, by default): the same query with `cursor` set. */
export function olderLink(url: string, cursor: string | null, label = 'Older'): Html {
  if (!cursor) return html``;
  const next = new URL(url, 'http://dashboard');
  next.searchParams.set('cursor', cursor);
  return html`<p class="paging"><a href="${next.pathname}${next.search}">${label}</a></p>`;
}
