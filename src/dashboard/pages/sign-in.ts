import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { matchOperator } from '../../http/operator-auth.js';
import { type Html, html } from '../html.js';
import { csrfField, document } from '../layout.js';
import { COOKIE_OPTIONS, csrfToken, dashboardPath, SESSION_COOKIE } from '../plumbing.js';
import type { Sessions } from '../sessions.js';

const signInForm = z.object({
  token: z.string().trim().default(''),
  next: z.string().default('/ui'),
});

function signInPage(csrf: string, next: string, alert: string | null): Html {
  return document(
    'Sign in',
    html`<main id="main" class="narrow">
      <h1>Sign in to Airlock</h1>
      ${alert ? html`<p class="flash alert" role="alert">${alert}</p>` : ''}
      <form method="post" action="/ui/sign-in" class="stack">
        ${csrfField(csrf)}
        <input type="hidden" name="next" value="${next}">
        <label for="token">Operator token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
        <button type="submit">Sign in</button>
      </form>
      <p class="hint">The token an administrator configured for you under <code>operators</code>.</p>
    </main>`,
  );
}

function sendPage(reply: FastifyReply, page: Html, status = 200) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(page.text);
}

/** `GET|POST /ui/sign-in` and `POST /ui/sign-out`: a session cookie for an operator's token. */
export function registerSignIn(
  app: FastifyInstance,
  deps: { sessions: Sessions; operators: Config['operators']; ttlMs: number },
): void {
  app.get<{ Querystring: { next?: string } }>('/sign-in', async (request, reply) =>
    sendPage(reply, signInPage(csrfToken(request, reply), dashboardPath(request.query.next), null)),
  );

  app.post('/sign-in', { preHandler: app.csrfProtection }, async (request, reply) => {
    const form = signInForm.safeParse(request.body ?? {});
    const next = dashboardPath(form.success ? form.data.next : undefined);
    let operator: ReturnType<typeof matchOperator>;
    try {
      operator = form.success
        ? matchOperator(deps.operators, form.data.token, request.ip)
        : undefined;
    } catch (error) {
      if (!(error instanceof AppError) || error.code !== 'too-many-attempts') throw error;
      reply.header('retry-after', String(error.details.retryAfterSeconds));
      return sendPage(reply, signInPage(csrfToken(request, reply), next, error.message), 429);
    }
    if (!operator) {
      const alert = 'That operator token is not recognised.';
      return sendPage(reply, signInPage(csrfToken(request, reply), next, alert), 401);
    }
    const cookie = await deps.sessions.start(operator);
    reply.setCookie(SESSION_COOKIE, cookie, {
      ...COOKIE_OPTIONS,
      maxAge: Math.floor(deps.ttlMs / 1000),
    });
    return reply.redirect(next, 303);
  });

  const signOut = async (request: FastifyRequest, reply: FastifyReply) => {
    await deps.sessions.end(request.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, COOKIE_OPTIONS);
    return reply.redirect('/ui/sign-in', 303);
  };
  // A session already ended is signed out at once: its page's token, bound to it, would be
  // refused, and there is nothing left to protect.
  const endedSession = async (request: FastifyRequest, reply: FastifyReply) => {
    if (!(await deps.sessions.find(request.cookies[SESSION_COOKIE])))
      return signOut(request, reply);
  };
  app.post('/sign-out', { preHandler: [endedSession, app.csrfProtection] }, signOut);
}
