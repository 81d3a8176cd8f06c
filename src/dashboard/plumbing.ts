import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { OperatorRole } from '../config.js';
import { AppError } from '../errors.js';
import { admitOperator, type Operator } from '../http/operator-auth.js';
import { toAppError } from '../http/problem.js';
import { sentence } from './format.js';
import type { Html } from './html.js';
import { html } from './html.js';
import { document, type Flash, type PageContext } from './layout.js';
import type { Sessions } from './sessions.js';

export const SESSION_COOKIE = 'airlock_session';
const CSRF_COOKIE = 'airlock_csrf';
const FLASH_COOKIE = 'airlock_flash';

/**
 * Cookies of the dashboard: only its own paths, never readable by scripts, only over HTTPS
 * (browsers treat `localhost` and 127.0.0.1 as secure, so a local gateway works over plain
 * HTTP). `SameSite=Lax`, not `Strict`: a link to an approval from Slack or email must open it
 * signed in. Lax still keeps them off another site's form posts, and every post needs its
 * CSRF token besides; pages that are only read change nothing.
 */
export const COOKIE_OPTIONS = {
  path: '/ui',
  httpOnly: true,
  secure: true,
  sameSite: 'lax',
} as const;

/** `path` when it is a dashboard page, else the overview: a form field must not lead off-site. */
export function dashboardPath(path: unknown): string {
  // Printable ASCII only: anything else cannot go into a Location header as it is.
  return typeof path === 'string' && /^\/ui([/?][\x21-\x7e]*)?$/.test(path) ? path : '/ui';
}

/** The page a form was posted from (its `back` field), to return to. */
export function backFrom(request: FastifyRequest): string {
  return dashboardPath((request.body as { back?: unknown } | undefined)?.back);
}

/** What a form route answers: where the browser goes next, with a message for the page. */
export interface FormResult {
  readonly to: string;
  readonly flash?: Flash;
}

/** Route builders for signed-in pages and forms, in the dashboard's encapsulated context. */
export interface Ui {
  /** A page for operators with at least `role`; no session → the sign-in page. */
  view<Q = unknown, P = unknown>(
    path: string,
    role: OperatorRole,
    render: (
      request: FastifyRequest<{ Querystring: Q; Params: P }>,
      context: PageContext,
    ) => Promise<Html>,
  ): void;
  /**
   * A form post for operators with at least `role` (403 otherwise), its CSRF token checked.
   * A client error thrown by `handle` goes back to `back` as an alert rather than an error page.
   */
  form<P = unknown>(
    path: string,
    role: OperatorRole,
    back: (request: FastifyRequest<{ Params: P }>) => string,
    handle: (request: FastifyRequest<{ Params: P }>, operator: Operator) => Promise<FormResult>,
  ): void;
  /** A response the handler writes itself (server-sent events), for a signed-in operator. */
  stream(path: string, role: OperatorRole, start: (reply: FastifyReply) => Promise<void>): void;
}

/**
 * Sets up `app` (the dashboard's own context, prefixed `/ui`): cookies, form bodies, CSRF
 * protection, HTML error pages; returns the route builders.
 */
export async function setUpUi(
  app: FastifyInstance,
  sessions: Sessions,
  /** Signs CSRF tokens; the same on every instance that serves these sessions. */
  csrfKey: string,
): Promise<Ui> {
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  // A token is bound to the browser's session as well as to its CSRF cookie: a cookie planted
  // from a sibling site (another port or subdomain of the host) with a token made for it does
  // not pass with a signed-in operator's session.
  await app.register(fastifyCsrf, {
    cookieKey: CSRF_COOKIE,
    cookieOpts: COOKIE_OPTIONS,
    getUserInfo: sessionOf,
    csrfOpts: { hmacKey: csrfKey },
  });
  app.setErrorHandler((error, request, reply) => errorPage(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    errorPage(
      new AppError('not-found', 404, `no page ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  );

  const operatorOf = async (request: FastifyRequest) =>
    sessions.find(request.cookies[SESSION_COOKIE]);

  return {
    view(path, role, render) {
      app.get(path, async (request, reply) => {
        const operator = await operatorOf(request);
        if (!operator) {
          const next = encodeURIComponent(request.url);
          return reply.redirect(`/ui/sign-in?next=${next}`, 303);
        }
        admitOperator(request, operator, role);
        const context: PageContext = {
          operator,
          csrf: csrfToken(request, reply),
          flash: takeFlash(request, reply),
          path: request.url.split('?')[0] ?? request.url,
          url: request.url,
        };
        const page = await render(request as never, context);
        return reply
          .type('text/html; charset=utf-8')
          .header('cache-control', 'no-store')
          .send(page.text);
      });
    },
    stream(path, role, start) {
      app.get(path, async (request, reply) => {
        const operator = await operatorOf(request);
        if (!operator)
          throw new AppError('unauthorized', 401, 'sign in again: the session has ended');
        admitOperator(request, operator, role);
        await start(reply);
      });
    },
    form(path, role, back, handle) {
      // The session first: a form from a page whose session has ended is told to sign in again,
      // not that its token (bound to that session) is refused.
      const signedIn = async (request: FastifyRequest) => {
        const operator = await operatorOf(request);
        if (!operator)
          throw new AppError('unauthorized', 401, 'sign in again: the session has ended');
        formOperators.set(request, operator);
      };
      app.post(path, { preHandler: [signedIn, app.csrfProtection] }, async (request, reply) => {
        const operator = formOperators.get(request) as Operator;
        admitOperator(request, operator, role);
        let result: FormResult;
        try {
          result = await handle(request as never, operator);
        } catch (error) {
          const appError = toAppError(error);
          if (appError.status >= 500) throw error;
          result = {
            to: back(request as never),
            flash: { kind: 'alert', text: sentence(appError.message) },
          };
        }
        if (result.flash) setFlash(reply, result.flash);
        return reply.redirect(result.to, 303);
      });
    },
  };
}

/** The session cookie a request carries, or none: what CSRF tokens are bound to (never empty). */
function sessionOf(request: FastifyRequest): string {
  const session = request.cookies[SESSION_COOKIE];
  return session ? `session:${session}` : 'no-session';
}

/** A CSRF token for a form on the page answering `request`. */
export function csrfToken(request: FastifyRequest, reply: FastifyReply): string {
  return reply.generateCsrf({ userInfo: sessionOf(request) });
}

/** The operator a form post's session belongs to, found before its CSRF token is checked. */
const formOperators = new WeakMap<FastifyRequest, Operator>();

function setFlash(reply: FastifyReply, flash: Flash): void {
  reply.setCookie(FLASH_COOKIE, JSON.stringify(flash), { ...COOKIE_OPTIONS, maxAge: 60 });
}

/** The message the last form left for this page, cleared as it is shown. */
function takeFlash(request: FastifyRequest, reply: FastifyReply): Flash | null {
  const text = request.cookies[FLASH_COOKIE];
  if (text === undefined) return null;
  reply.clearCookie(FLASH_COOKIE, COOKIE_OPTIONS);
  try {
    const flash = JSON.parse(text) as Partial<Flash>;
    if ((flash.kind === 'status' || flash.kind === 'alert') && typeof flash.text === 'string') {
      return { kind: flash.kind, text: flash.text };
    }
  } catch {
    // Not ours: shown as nothing.
  }
  return null;
}

const CSRF_CODES = new Set(['FST_CSRF_MISSING_SECRET', 'FST_CSRF_INVALID_TOKEN']);

/**
 * Why a form was refused for its CSRF token. Over plain HTTP to a host other than this
 * machine, browsers drop the dashboard's secure cookies, and every form fails so: say that.
 */
function csrfRefusal(request: FastifyRequest): AppError {
  const local = /^(localhost|127(\.\d+){3}|\[::1\])(:\d+)?$/i.test(request.host);
  if (request.protocol === 'http' && !local) {
    return new AppError(
      'https-required',
      403,
      'The dashboard needs HTTPS here: browsers keep its secure cookies only over HTTPS (or on this machine, at localhost). Serve the gateway behind HTTPS.',
    );
  }
  return new AppError(
    'csrf-refused',
    403,
    'This form was not sent from a page of this dashboard, or the page is too old. Reload the page and try again.',
  );
}

/** An error as an HTML page with its status: the dashboard is read by people, not programs. */
/** An error as the dashboard shows it: an HTML page, read by people, not programs. */
export function errorPage(error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const code = (error as { code?: unknown }).code;
  const appError = CSRF_CODES.has(String(code)) ? csrfRefusal(request) : toAppError(error);
  if (appError.status >= 500) request.log.error({ err: error }, 'dashboard request failed');
  const detail =
    appError.status >= 500
      ? `Something went wrong on our side; quote request ${request.id} when reporting it.`
      : appError.message;
  const signIn = appError.status === 401 ? html`<p><a href="/ui/sign-in">Sign in</a></p>` : '';
  const page = document(
    `Error ${appError.status}`,
    html`<main id="main" class="narrow">
      <h1>${appError.status === 403 ? 'Not allowed' : appError.status === 404 ? 'Not found' : 'Something went wrong'}</h1>
      <p role="alert">${detail}</p>
      ${signIn}
      <p><a href="/ui">Back to the overview</a></p>
    </main>`,
  );
  return reply
    .code(appError.status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(page.text);
}
