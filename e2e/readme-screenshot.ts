/**
 * Makes `docs/dashboard.png`, the README's picture of the dashboard: `airlock demo` (the built
 * CLI) plays a short seeded run, and the overview of its gateway is photographed at 1280 px.
 * Run with `npm run build && node --import tsx e2e/readme-screenshot.ts`.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from './helpers/browser.js';

const data = mkdtempSync(join(tmpdir(), 'airlock-screenshot-'));
const demo = spawn(
  process.execPath,
  [
    'dist/cli/main.js',
    'demo',
    '--seed',
    '7',
    '--customers',
    '150',
    '--seconds',
    '240',
    '--data',
    data,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
try {
  const dashboard = await new Promise<{ url: string; token: string }>((resolve, reject) => {
    let out = '';
    demo.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /stays up over the finished run: (\S+) \(token (\S+)\)/.exec(out);
      if (found) resolve({ url: found[1] as string, token: found[2] as string });
    });
    demo.on('exit', (code) => reject(new Error(`airlock demo ended (${code}) before serving`)));
  });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`${dashboard.url}/sign-in`);
  await page.getByLabel('Operator token').fill(dashboard.token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${dashboard.url}`);
  await page.goto(`${dashboard.url}?window=1h`);
  mkdirSync('docs', { recursive: true });
  await page.screenshot({ path: 'docs/dashboard.png' });
  await browser.close();
  process.stdout.write('wrote docs/dashboard.png\n');
} finally {
  demo.kill('SIGINT');
  rmSync(data, { recursive: true, force: true });
}
