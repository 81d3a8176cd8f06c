import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ProposeDeps } from '../actions/index.js';
import type { ApprovalDeps } from '../approvals/index.js';
import type { Config } from '../config.js';
import type { Dispatcher } from '../dispatch/dispatcher.js';
import type { Store } from '../store/index.js';
import { registerAssets } from './assets.js';
import { LiveFeed, readLiveCounters } from './live.js';
import { registerActionsPage } from './pages/actions.js';
import { registerAdminForms } from './pages/admin-forms.js';
import { registerApprovalPages } from './pages/approvals.js';
import { registerErrorsPage } from './pages/errors.js';
import { registerEventsPage } from './pages/events.js';
import { registerOverviewPage } from './pages/overview.js';
import { registerSignIn } from './pages/sign-in.js';
import { registerTracePage } from './pages/trace.js';
import { setUpUi } from './plumbing.js';
import { createSessions, type SessionOps } from './sessions.js';

export interface DashboardDeps {
  readonly store: Store;
  readonly config: Config;
  readonly approvals: ApprovalDeps;
  readonly propose: ProposeDeps;
  readonly dispatcher: Dispatcher;
  readonly sessionOps: SessionOps;
}

// Pages may load only what the gateway serves: no inline script, no other origin, no framing.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/**
 * The operators' web UI under `/ui` (README.md here): server-rendered pages over the same
 * module functions the HTTP API and CLI call, signed in with an operator's token.
 */
export async function registerDashboard(app: FastifyInstance, deps: DashboardDeps): Promise<void> {
  const live = new LiveFeed(() => readLiveCounters(deps.store), {
    intervalMs: 2_000,
    streamMs: 5 * 60_000,
    onError: (error) => app.log.warn({ err: error }, 'reading the dashboard counters failed'),
  });
  // Before the server stops taking connections: an open page's stream would hold it open.
  app.addHook('preClose', async () => live.close());
  await app.register(
    async (ui) => {
      ui.addHook('onSend', async (_request, reply) => {
        reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
        reply.header('x-content-type-options', 'nosniff');
        reply.header('referrer-policy', 'same-origin');
      });
      const sessions = createSessions(deps.store, deps.sessionOps, deps.config.operators, {
        ttlMs: deps.config.dashboard.sessionTtl,
        now: deps.propose.now,
      });
      const routes = await setUpUi(ui, sessions, csrfKeyOf(deps.config.operators));
      registerAssets(ui);
      registerSignIn(ui, {
        sessions,
        operators: deps.config.operators,
        ttlMs: deps.config.dashboard.sessionTtl,
      });
      routes.stream('/live', 'viewer', (reply) => live.attach(reply));
      const now = deps.propose.now;
      registerOverviewPage(routes, { store: deps.store, now });
      registerApprovalPages(routes, deps);
      registerEventsPage(routes, deps);
      registerActionsPage(routes, deps);
      registerErrorsPage(routes, { ...deps, now });
      registerTracePage(routes, deps);
      registerAdminForms(routes, deps);
    },
    { prefix: '/ui' },
  );
}

export { errorPage as dashboardErrorPage } from './plumbing.js';
export { type SessionOps, sessionOps } from './sessions.js';

/**
 * The key CSRF tokens are signed with: made from the operators' token hashes, so every instance
 * with the same config has the same one (a form from one is accepted by another), and a change
 * of operators' tokens, which ends their sessions, also ends their forms.
 */
function csrfKeyOf(operators: Config['operators']): string {
  const hashes = Object.entries(operators)
    .map(([name, operator]) => `${name}:${operator.tokenSha256}`)
    .sort();
  return createHash('sha256')
    .update(`airlock-dashboard-csrf\n${hashes.join('\n')}`)
    .digest('hex');
}
