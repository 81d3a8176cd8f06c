import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

/** Debian's Chromium; playwright-core downloads no browser of its own. */
const CHROMIUM = process.env.AIRLOCK_E2E_CHROMIUM ?? '/usr/bin/chromium';

/** Where screenshots go: `AIRLOCK_E2E_SCREENSHOTS`, relative to the working directory, or `e2e/screenshots`. */
export const SCREENSHOTS_DIR = resolve(process.env.AIRLOCK_E2E_SCREENSHOTS ?? 'e2e/screenshots');

/** Every page the tests open: the size the README's screenshot has. */
export const VIEWPORT = { width: 1280, height: 800 } as const;

/** How long one step (a click, a navigation, waiting for an element) may take, in ms. */
export const STEP_TIMEOUT_MS = 10_000;

/** Headless Chromium without the background traffic a test machine has no use for. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * For a test file: one browser for the file, a new context (no cookies) and page for each test.
 * After each test, passed or failed, the page is saved as `<test name>.png` (full page) in
 * `SCREENSHOTS_DIR`. Returns the current test's page.
 */
export function useBrowser(): () => Page {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let page: Page | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    if (!browser) throw new Error('the browser did not start');
    context = await browser.newContext({ viewport: VIEWPORT });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
    page = await context.newPage();
  });
  afterEach(async ({ task }) => {
    try {
      if (page) await saveScreenshot(page, task.name);
    } finally {
      await context?.close();
      context = undefined;
      page = undefined;
    }
  });
  return () => {
    if (!page) throw new Error('no page: useBrowser() pages exist only inside a test');
    return page;
  };
}

/**
 * Saves the page as `<name as a slug>.png` in `SCREENSHOTS_DIR`: the whole page, or with
 * `fullPage: false` only what the viewport shows. The path.
 */
export async function saveScreenshot(
  page: Page,
  name: string,
  options: { fullPage?: boolean } = {},
): Promise<string> {
  mkdirSync(SCREENSHOTS_DIR, { recursive: true });
  const path = join(SCREENSHOTS_DIR, `${slug(name)}.png`);
  await page.screenshot({ path, fullPage: options.fullPage ?? true, timeout: 5_000 });
  return path;
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}
