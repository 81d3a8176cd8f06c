import { describe, expect, it } from 'vitest';
import { APPROVER_TOKEN } from '../test/helpers/gateway.js';
import { useBrowser } from './helpers/browser.js';
import { heading, submit, textOf } from './helpers/dashboard.js';
import { useGateway } from './helpers/gateway.js';

describe('dashboard sign-in', () => {
  const page = useBrowser();
  const start = useGateway();
  const sessionCookie = async () =>
    (await page().context().cookies()).find((cookie) => cookie.name === 'airlock_session');

  it('sends a visitor without a session to sign in, refuses a wrong token, lets an approver in', async () => {
    const { url } = await start();

    await page().goto(`${url}/ui/approvals`);
    const redirected = new URL(page().url());
    expect(redirected.pathname).toBe('/ui/sign-in');
    expect(redirected.searchParams.get('next')).toBe('/ui/approvals');

    await page().getByLabel('Operator token').fill('not-an-operator-token');
    await submit(page(), page().getByRole('button', { name: 'Sign in', exact: true }));
    expect(await textOf(page().getByRole('alert'))).toContain('not recognised');
    expect(await sessionCookie()).toBeUndefined();

    await page().goto(`${url}/ui/sign-in`);
    await page().getByLabel('Operator token').fill(APPROVER_TOKEN);
    await submit(page(), page().getByRole('button', { name: 'Sign in', exact: true }));
    expect(new URL(page().url()).pathname).toBe('/ui');
    expect(await heading(page())).toBe('Overview');
    expect(await textOf(page().locator('span.operator'))).toBe('ana · approver');
    expect(await sessionCookie()).toMatchObject({
      path: '/ui',
      httpOnly: true,
      secure: true,
      sameSite: 'Lax',
    });
  });
});
