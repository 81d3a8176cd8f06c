import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';
import { STEP_TIMEOUT_MS } from './browser.js';

/** The page's `<h1>`, once it is there. */
export async function heading(page: Page): Promise<string> {
  return ((await page.locator('h1').first().textContent()) ?? '').trim();
}

/** Trimmed text of the first element `locator` finds, or null when there is none (yet). */
export async function textOf(locator: Locator): Promise<string | null> {
  try {
    if ((await locator.count()) === 0) return null;
    return ((await locator.first().textContent({ timeout: 1_000 })) ?? '').trim();
  } catch {
    // Between two documents (a form post, a redirect) there is nothing to read yet.
    return null;
  }
}

/** Clicks a button that submits a form and waits for the page the server answers with. */
export async function submit(page: Page, button: Locator): Promise<void> {
  const loaded = page.waitForEvent('load');
  // Awaited below; a click that fails must not leave this rejection unhandled.
  loaded.catch(() => {});
  await button.click();
  await loaded;
}

/**
 * Signs in on `/ui/sign-in` with an operator token and waits until the browser has left the
 * sign-in page (the session cookie is set then).
 */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/ui/sign-in`);
  await page.getByLabel('Operator token').fill(token);
  await submit(page, page.getByRole('button', { name: 'Sign in', exact: true }));
  expect(
    new URL(page.url()).pathname,
    'still on the sign-in page: was the token refused?',
  ).not.toBe('/ui/sign-in');
}

/**
 * Opens `url` again and again (a plain GET, never resubmitting a form) until the text of
 * `selector` is `expected`, for up to `timeoutMs`.
 */
export async function reloadUntilText(
  page: Page,
  url: string,
  selector: string,
  expected: string,
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<void> {
  await expect
    .poll(
      async () => {
        const now = await textOf(page.locator(selector));
        if (now === expected) return now;
        await page.goto(url);
        return textOf(page.locator(selector));
      },
      { timeout: timeoutMs, interval: 250 },
    )
    .toBe(expected);
}
