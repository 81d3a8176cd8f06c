import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { OPERATION_NAMES } from '../src/actions/index.js';
import type { Sandbox } from '../src/sandbox/index.js';
import type { Store } from '../src/store/index.js';
import { DashboardClient } from './helpers/dashboard-client.js';
import {
  ADMIN_TOKEN,
  APPROVER_TOKEN,
  createTestApp,
  sha256,
  type TestApp,
  testConfig,
  useTestGateways,
  VIEWER_TOKEN,
} from './helpers/gateway.js';
import { writeWhileLocked } from './helpers/held-lock.js';
import { startSandbox } from './helpers/sandbox.js';
import { BACKENDS, useTestStores } from './helpers/stores.js';
import { signStandardWebhook, ticketEventBody } from './helpers/webhooks.js';

const AGENT_KEY = 'ak_dashboard_test_agent';

describe.each(BACKENDS)('dashboard on %s', (backend) => {
  const stores = useTestStores(backend);
  let store: Store;
  let gateway: TestApp;
  let sandbox: Sandbox & { url: string };
  let base: string;

  async function start(values: Record<string, unknown> = {}) {
    sandbox = stores.closedAfter(await startSandbox());
    store = await stores.open();
    await listen(values);
  }

  /** A gateway over the test's store, with these config values; the store is kept across. */
  async function listen(values: Record<string, unknown>) {
    gateway = stores.closedAfter(
      await createTestApp(
        store,
        testConfig(stores.database.url, {
          agents: { bot: { keySha256: sha256(AGENT_KEY), operations: [...OPERATION_NAMES] } },
          connectors: { orders: { kind: 'sandbox', url: sandbox.url, timeout: '2s' } },
          actions: { wait: '2s' },
          ...values,
        }),
      ),
    );
    await gateway.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;
  }

  /** A pending approval: an order cancel, which always waits for a human. */
  async function pendingApproval(key: string): Promise<{ approval: string; action: string }> {
    const [order] = sandbox.seed({ orders: [{ currency: 'EUR', subtotal: 80 }] }).orders as Array<{
      id: string;
      revision: number;
    }>;
    const response = await fetch(`${base}/v1/actions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${AGENT_KEY}`,
        'idempotency-key': key,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        operation: 'order.cancel',
        target: { system: 'orders', type: 'order', id: order?.id },
        params: { reason: 'customer asked' },
        basis: { revision: String(order?.revision) },
      }),
    });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { action: string; approval: string };
    return { approval: body.approval, action: body.action };
  }

  async function approvalStatus(id: string): Promise<string | undefined> {
    const row = await store.db
      .selectFrom('approvals')
      .select('status')
      .where('id', '=', id)
      .executeTakeFirst();
    return row?.status;
  }

  async function signedIn(token: string): Promise<DashboardClient> {
    const client = new DashboardClient(base);
    const response = await client.signIn(token);
    expect(response.status).toBe(303);
    return client;
  }

  it('signs an operator in with a secure, HTTP-only session cookie, and out again', async () => {
    await start();
    const client = new DashboardClient(base);
    const away = await client.get('/ui/approvals');
    expect(away.status).toBe(303);
    expect(away.headers.get('location')).toBe('/ui/sign-in?next=%2Fui%2Fapprovals');

    const wrong = await client.signIn('not-a-token');
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('not recognised');
    expect(client.cookies.has('airlock_session')).toBe(false);

    const csrf = await client.csrfFrom('/ui/sign-in?next=/ui/approvals');
    const signed = await client.post('/ui/sign-in', {
      _csrf: csrf,
      token: VIEWER_TOKEN,
      next: '/ui/approvals',
    });
    expect(signed.status).toBe(303);
    expect(signed.headers.get('location')).toBe('/ui/approvals');
    const cookie = signed.headers
      .getSetCookie()
      .find((line) => line.startsWith('airlock_session='));
    expect(cookie).toMatch(/; Path=\/ui/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    // The store keeps only a hash of the cookie's value.
    const value = client.cookies.get('airlock_session') as string;
    const rows = await store.db.selectFrom('operator_sessions').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]?.id_sha256).toBe(sha256(value));

    const inside = await client.get('/ui/approvals');
    expect(inside.status).toBe(200);
    expect(await inside.text()).toContain('watcher · viewer');
    expect(inside.headers.get('content-security-policy')).toContain("script-src 'self'");

    const out = await client.post('/ui/sign-out', {
      _csrf: await client.csrfFrom('/ui/approvals'),
    });
    expect(out.status).toBe(303);
    // The old cookie, replayed, opens nothing: the session is gone from the store.
    const replay = new DashboardClient(base);
    replay.cookies.set('airlock_session', value);
    expect((await replay.get('/ui/approvals')).status).toBe(303);
  });

  it('holds off an address that guessed 20 operator tokens, and only its operator sign-ins', async () => {
    await start();
    const client = new DashboardClient(base);
    const api = (headers: Record<string, string>) => fetch(`${base}/v1/approvals`, { headers });
    const lease = (key: string) =>
      fetch(`${base}/v1/events/lease`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}` },
      });
    // Not guesses at an operator token: no token at all, and agent keys (random, not chosen).
    for (let tries = 0; tries < 25; tries += 1) {
      expect((await api({})).status).toBe(401);
      expect((await lease(`ak_old_${tries}`)).status).toBe(401);
    }
    expect((await api({ authorization: `Bearer ${VIEWER_TOKEN}` })).status).toBe(200);
    // Ten wrong sign-ins and ten wrong bearer tokens.
    for (let guess = 0; guess < 10; guess += 1) {
      expect((await client.signIn(`guess-${guess}`)).status).toBe(401);
      expect((await api({ authorization: `Bearer guess-${guess}` })).status).toBe(401);
    }
    // Now even the right token is not compared: a 200 would tell a guess that matched.
    const refused = await api({ authorization: `Bearer ${VIEWER_TOKEN}` });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refused.json()).toMatchObject({
      type: 'urn:airlock:problem:too-many-attempts',
    });
    const page = await client.signIn(VIEWER_TOKEN);
    expect(page.status).toBe(429);
    expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await page.text()).toContain('try again later');
    // Agents at the same address, and webhooks, go on.
    const agentCall = await fetch(`${base}/v1/actions/act_00000000000000000000000000000000`, {
      headers: { authorization: `Bearer ${AGENT_KEY}` },
    });
    expect(agentCall.status).toBe(404);
    const body = ticketEventBody('T-guess');
    const hook = await fetch(`${base}/hooks/demo`, {
      method: 'POST',
      headers: signStandardWebhook(body, 'msg_guess'),
      body,
    });
    expect(hook.status).toBe(202);
  });

  it('does not follow a next address off the dashboard', async () => {
    await start();
    for (const next of [
      'https://evil.example/',
      '//evil.example/ui',
      '/uix',
      '/v1/events',
      '/ui/trace?id=€',
      '/ui\r\nSet-Cookie: x=1',
    ]) {
      // A browser each: a sign-in form's token is bound to the session it was shown in.
      const client = new DashboardClient(base);
      const csrf = await client.csrfFrom('/ui/sign-in');
      const signed = await client.post('/ui/sign-in', { _csrf: csrf, token: VIEWER_TOKEN, next });
      expect(signed.headers.get('location')).toBe('/ui');
    }
  });

  it('enforces roles on the server: a viewer gets 403 on approve, an approver decides', async () => {
    await start();
    const { approval } = await pendingApproval('k-roles');
    const viewer = await signedIn(VIEWER_TOKEN);
    const page = await (await viewer.get(`/ui/approvals/${approval}`)).text();
    expect(page).not.toContain('>Approve<');
    // The form is not shown, but a viewer posting it anyway, with a valid CSRF token, is refused.
    const csrf = await viewer.csrfFrom('/ui/approvals');
    const refused = await viewer.post(`/ui/approvals/${approval}/approve`, { _csrf: csrf });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('watcher is a viewer; this needs approver');
    expect(await approvalStatus(approval)).toBe('pending');
    // Retrying or redelivering needs an admin.
    const { action } = await pendingApproval('k-roles-2');
    const approver = await signedIn(APPROVER_TOKEN);
    const retry = await approver.post(`/ui/actions/${action}/retry`, {
      _csrf: await approver.csrfFrom('/ui/approvals'),
    });
    expect(retry.status).toBe(403);

    const approved = await approver.post(`/ui/approvals/${approval}/approve`, {
      _csrf: await approver.csrfFrom(`/ui/approvals/${approval}`),
      comment: 'checked with the customer',
    });
    expect(approved.status).toBe(303);
    expect(approved.headers.get('location')).toBe(`/ui/approvals/${approval}`);
    expect(await approvalStatus(approval)).toBe('approved');
    const decided = await store.db
      .selectFrom('approvals')
      .select(['decided_by', 'comment'])
      .where('id', '=', approval)
      .executeTakeFirstOrThrow();
    expect(decided).toEqual({ decided_by: 'ana', comment: 'checked with the customer' });
    const after = await (await approver.get(`/ui/approvals/${approval}`)).text();
    expect(after).toContain(`Approval ${approval} is approved.`);
    expect(after).toMatch(/data-field="action-status">executed</);
  });

  it('answers a bad form with the reason on the page, and keeps line breaks as typed', async () => {
    await start();
    const { approval } = await pendingApproval('k-form');
    const approver = await signedIn(APPROVER_TOKEN);
    const post = async (fields: Record<string, string>) =>
      approver.post(`/ui/approvals/${approval}/reject`, {
        _csrf: await approver.csrfFrom(`/ui/approvals/${approval}`),
        ...fields,
      });
    for (const comment of ['x'.repeat(2001), 'a NUL \u0000 in it']) {
      const refused = await post({ comment });
      expect(refused.status).toBe(303);
      const page = await (await approver.get(`/ui/approvals/${approval}`)).text();
      expect(page).toMatch(/role="alert">Comment: /);
      expect(await approvalStatus(approval)).toBe('pending');
    }
    // 1,960 characters and 39 line breaks, 1,999 as a textarea with maxlength 2000 counts them:
    // the browser sends each break as CRLF, 2,038 characters in all.
    const typed = Array.from({ length: 40 }, () => 'y'.repeat(49)).join('\r\n');
    expect(typed.length).toBe(2038);
    const rejected = await post({ comment: typed });
    expect(rejected.status).toBe(303);
    expect(await approvalStatus(approval)).toBe('rejected');
    const row = await store.db
      .selectFrom('approvals')
      .select('comment')
      .where('id', '=', approval)
      .executeTakeFirstOrThrow();
    expect(row.comment).toBe(typed.replaceAll('\r\n', '\n'));
  });

  it('refuses a state-changing form without this dashboard’s CSRF token', async () => {
    await start();
    const { approval } = await pendingApproval('k-csrf');
    const approver = await signedIn(APPROVER_TOKEN);
    // No token at all, as a form on another site would send (were the cookie sent with it).
    const bare = await approver.post(`/ui/approvals/${approval}/approve`, {});
    expect(bare.status).toBe(403);
    expect(await bare.text()).toContain('not sent from a page of this dashboard');
    // A token made for another browser's secret.
    const other = new DashboardClient(base);
    const foreign = await other.csrfFrom('/ui/sign-in');
    const forged = await approver.post(`/ui/approvals/${approval}/approve`, { _csrf: foreign });
    expect(forged.status).toBe(403);
    // Nor another browser's secret cookie planted beside the session (from a sibling site:
    // another port or subdomain of the host), with the token made for it: it was accepted.
    const own = approver.cookies.get('airlock_csrf') as string;
    approver.cookies.set('airlock_csrf', other.cookies.get('airlock_csrf') as string);
    const tossed = await approver.post(`/ui/approvals/${approval}/reject`, { _csrf: foreign });
    expect(tossed.status).toBe(403);
    approver.cookies.set('airlock_csrf', own);
    expect(await approvalStatus(approval)).toBe('pending');
    // Signing in needs it too, so no site can sign a browser in as someone else.
    const blind = new DashboardClient(base);
    const login = await blind.post('/ui/sign-in', { token: ADMIN_TOKEN });
    expect(login.status).toBe(403);
    expect(blind.cookies.has('airlock_session')).toBe(false);
  });

  it('ends a session when the operator’s token changes in the config', async () => {
    await start();
    const { action } = await pendingApproval('k-ended');
    const client = await signedIn(ADMIN_TOKEN);
    expect((await client.get('/ui/events')).status).toBe(200);
    const csrf = await client.csrfFrom('/ui/errors');
    await gateway.close();
    await listen({
      operators: { root: { role: 'admin', tokenSha256: sha256('a-rotated-token') } },
    });
    client.base = base;
    expect((await client.get('/ui/events')).status).toBe(303);
    // A form from a page of that session is told to sign in again (not that its token is bad).
    const posted = await client.post(`/ui/actions/${action}/retry`, { _csrf: csrf });
    expect(posted.status).toBe(401);
    expect(await posted.text()).toContain('sign in again: the session has ended');
    // Signing out of it just signs out.
    const out = await client.post('/ui/sign-out', { _csrf: csrf });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/ui/sign-in');
    expect(client.cookies.has('airlock_session')).toBe(false);
  });

  it('streams the counters, and a closing gateway does not wait for an open stream', async () => {
    await start();
    await pendingApproval('k-live');
    const client = await signedIn(VIEWER_TOKEN);
    const cookie = [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(`${base}/ui/live`, { headers: { cookie } });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    while (!text.includes('\n\ndata:') && !/data: .*\n\n/.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const data = JSON.parse(/data: (.*)\n/.exec(text)?.[1] ?? '{}');
    expect(data).toMatchObject({ approvalsPending: 1 });
    // The first tick (2 s) finds nothing changed since the figures sent on opening: it keeps
    // the stream open with a comment and sends them no second time.
    while (!text.includes(': idle')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text.match(/event: counters/g)).toHaveLength(1);
    const closed = gateway.close().then(() => 'closed');
    const timeout = new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000));
    expect(await Promise.race([closed, timeout])).toBe('closed');
    expect((await reader.read()).done).toBe(true);
  });

  it('shows what webhooks and agents sent as text, never as markup', async () => {
    await start();
    const hostile = '<script>alert(1)</script>';
    const body = JSON.stringify({
      type: hostile,
      timestamp: new Date().toISOString(),
      data: { type: 'ticket', id: `"><img src=x onerror=alert(1)>` },
    });
    const posted = await fetch(`${base}/hooks/demo`, {
      method: 'POST',
      headers: signStandardWebhook(body, 'msg_hostile'),
      body,
    });
    expect(posted.status).toBe(202);
    const { event } = (await posted.json()) as { event: string };
    const client = await signedIn(VIEWER_TOKEN);
    for (const path of ['/ui/events', `/ui/trace?id=${event}`]) {
      const page = await (await client.get(path)).text();
      expect(page).toContain(event);
      expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(page).not.toContain(hostile);
      expect(page).not.toContain('<img src=x');
    }
  });

  it('renders every page over a gateway that has seen work, for a viewer', async () => {
    await start();
    const { approval, action } = await pendingApproval('k-pages');
    const body = ticketEventBody('T-9');
    await fetch(`${base}/hooks/demo`, {
      method: 'POST',
      headers: signStandardWebhook(body, 'msg_pages'),
      body,
    });
    // A forged webhook: refused, and counted for the overview and the error list.
    await fetch(`${base}/hooks/demo`, {
      method: 'POST',
      headers: { ...signStandardWebhook(body, 'msg_forged'), 'webhook-signature': 'v1,AAAA' },
      body,
    });
    await gateway.close();
    await listen({});
    const client = await signedIn(VIEWER_TOKEN);
    const pages: [string, string[]][] = [
      ['/ui', ['<h1>Overview</h1>', 'data-live="approvalsPending"', '<svg class="chart"']],
      ['/ui?window=7d', ['<h1>Overview</h1>', 'last 7d']],
      ['/ui/approvals', [`data-approval-id="${approval}"`]],
      // An empty cursor, as a form without one sends it, is no cursor.
      ['/ui/approvals?status=all&cursor=', [`data-approval-id="${approval}"`]],
      ['/ui/events?cursor=', ['data-event-id="evt_']],
      [`/ui/approvals/${approval}`, ['data-field="approval-status">pending<', 'The record now']],
      ['/ui/events', ['data-event-id="evt_', 'T-9']],
      ['/ui/actions', [`data-action-id="${action}"`, 'data-status="pending_approval"']],
      ['/ui/actions?status=executed', ['No actions.']],
      ['/ui/errors', ['data-kind="webhook_rejected"', 'signature-invalid from source demo']],
      ['/ui/errors?system=orders', ['Nothing went wrong']],
      [`/ui/trace?id=${action}`, ['aria-label="Timeline"', 'approval requested']],
      ['/ui/trace?id=nothing-at-all', ['Nothing found for nothing-at-all']],
      [`/ui/trace?id=${'x'.repeat(1001)}`, ['An id is at most 1000 characters']],
      ['/ui/events?record=not-a-ref', ['role="alert">Expected a record as system:type:id']],
    ];
    for (const [path, expected] of pages) {
      const response = await client.get(path);
      expect(response.status, path).toBe(200);
      const page = await response.text();
      for (const text of expected) expect(page, `${path} shows ${text}`).toContain(text);
      // A viewer is offered no repair.
      expect(page).not.toContain('>Retry<');
    }
    // What the router refuses before any page is an error page too, not a problem document.
    for (const [path, status] of [
      ['/ui/approvals/%ED%A0%80', 400],
      [`/ui/approvals/${'a'.repeat(600)}`, 414],
    ] as const) {
      const response = await client.get(path);
      expect(response.status, path).toBe(status);
      expect(response.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(await response.text(), path).toContain('<p role="alert">');
    }
    // Elsewhere it stays problem+json.
    const api = await fetch(`${base}/v1/approvals/${'a'.repeat(600)}`);
    expect(api.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  it('lets an admin retry a dead action from the error list, recorded as that admin', async () => {
    await start();
    const { action } = await pendingApproval('k-retry');
    await store.db
      .updateTable('actions')
      .set({
        status: 'dead',
        error: JSON.stringify({ code: 'system-unavailable' }),
        // It ran out of attempts ten days ago: older than any window but "all kept".
        updated_at: Date.now() - 10 * 86_400_000,
      })
      .where('id', '=', action)
      .execute();
    const admin = await signedIn(ADMIN_TOKEN);
    expect(await (await admin.get('/ui/errors?since=7d')).text()).not.toContain(action);
    const errors = await (await admin.get('/ui/errors?since=all')).text();
    expect(errors).toContain(`action="/ui/actions/${action}/retry"`);
    const retried = await admin.post(`/ui/actions/${action}/retry`, {
      _csrf: await admin.csrfFrom('/ui/errors'),
      back: '/ui/errors?since=all',
    });
    expect(retried.status).toBe(303);
    expect(retried.headers.get('location')).toBe('/ui/errors?since=all');
    expect(await (await admin.get('/ui/errors')).text()).toContain(`Action ${action} is`);
    const entry = await store.db
      .selectFrom('audit_log')
      .select('data')
      .where('subject', '=', action)
      .where('change', '=', 'retried')
      .executeTakeFirstOrThrow();
    expect(JSON.parse(entry.data)).toEqual({ from: 'dead', by: 'root' });
    // Retrying what is not failed or dead comes back to the page as an alert, not an error page.
    const again = await admin.post(`/ui/actions/${action}/retry`, {
      _csrf: await admin.csrfFrom('/ui/errors'),
      back: '/ui/errors',
    });
    expect(again.status).toBe(303);
    expect(await (await admin.get('/ui/errors')).text()).toMatch(
      /role="alert">Action .* only failed or dead actions are retried\./,
    );
  });

  it('answers an unknown page, and a stream without a session, with an error page', async () => {
    await start();
    const client = await signedIn(VIEWER_TOKEN);
    const missing = await client.get('/ui/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^text\/html/);
    const unknown = await client.get('/ui/approvals/apr_nothing');
    expect(unknown.status).toBe(404);
    expect((await new DashboardClient(base).get('/ui/live')).status).toBe(401);
  });
});

describe('dashboard on SQLite, while another connection holds the write lock', () => {
  const start = useTestGateways('sqlite');

  it('signs in and out in the writer thread, the event loop going on meanwhile', async () => {
    const { app, store } = await start({
      operators: { root: { role: 'admin', tokenSha256: sha256(ADMIN_TOKEN) } },
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const client = new DashboardClient(
      `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    );
    const csrf = await client.csrfFrom('/ui/sign-in');
    const signedIn = await writeWhileLocked(store, () =>
      client.post('/ui/sign-in', { _csrf: csrf, token: ADMIN_TOKEN, next: '/ui' }),
    );
    expect(signedIn.status).toBe(303);
    expect((await client.get('/ui/approvals')).status).toBe(200);
    const out = await client.csrfFrom('/ui/approvals');
    const signedOut = await writeWhileLocked(store, () =>
      client.post('/ui/sign-out', { _csrf: out }),
    );
    expect(signedOut.status).toBe(303);
    expect(await store.db.selectFrom('operator_sessions').selectAll().execute()).toEqual([]);
  });
});
