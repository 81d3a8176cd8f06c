import type { Operator } from '../http/operator-auth.js';
import { type Html, html, type Renderable } from './html.js';

/** What every signed-in page knows besides its own content. */
export interface PageContext {
  readonly operator: Operator;
  /** The token forms carry in `_csrf`. */
  readonly csrf: string;
  /** A message from the form posted just before (post/redirect/get). */
  readonly flash: Flash | null;
  /** The path of the page, for marking the current link. */
  readonly path: string;
  /** The page's path and query: where a form on it comes back to. */
  readonly url: string;
}

export interface Flash {
  readonly kind: 'status' | 'alert';
  readonly text: string;
}

const NAV = [
  ['Overview', '/ui'],
  ['Approvals', '/ui/approvals'],
  ['Events', '/ui/events'],
  ['Actions', '/ui/actions'],
  ['Errors', '/ui/errors'],
  ['Trace', '/ui/trace'],
] as const;

/** A whole signed-in page: header, navigation, flash, content. */
export function page(context: PageContext, title: string, content: Renderable): Html {
  const current = (href: string) =>
    href === '/ui' ? context.path === '/ui' : context.path.startsWith(href);
  return document(
    title,
    html`<header class="top">
        <a class="brand" href="/ui">Airlock</a>
        <nav aria-label="Dashboard">
          <ul>
            ${NAV.map(
              ([name, href]) =>
                html`<li><a href="${href}"${current(href) ? html` aria-current="page"` : ''}>${name}${
                  name === 'Approvals'
                    ? html` <span class="badge" data-live="approvalsPending"></span>`
                    : ''
                }</a></li>`,
            )}
          </ul>
        </nav>
        <form method="post" action="/ui/sign-out" class="who">
          <span class="operator">${context.operator.name} · ${context.operator.role}</span>
          ${csrfField(context.csrf)}
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main id="main">
        ${context.flash ? html`<p class="flash ${context.flash.kind}" role="${context.flash.kind}">${context.flash.text}</p>` : ''}
        <h1>${title}</h1>
        ${content}
      </main>`,
  );
}

/** The HTML document around `body`; also for the sign-in and error pages. */
export function document(title: string, body: Renderable): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Airlock</title>
<link rel="stylesheet" href="/ui/assets/dashboard.css">
<script src="/ui/assets/dashboard.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
${body}
</body>
</html>`;
}

export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}
