import { defineConfig } from 'vitest/config';

/**
 * The dashboard in a real browser (`npm run test:e2e`): Debian's Chromium, driven by
 * playwright-core, against gateways listening on loopback over SQLite. No PostgreSQL is needed.
 */
export default defineConfig({
  test: {
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Each file starts one Chromium; two at a time keep a two-core machine responsive.
    maxWorkers: 2,
  },
});
