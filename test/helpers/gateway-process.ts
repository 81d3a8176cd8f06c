import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT } from './subprocess.js';

/** A real `airlock start` in its own process. */
export interface GatewayProcess {
  readonly url: string;
  readonly child: ChildProcess;
  /** What it wrote to stderr and stdout so far, for failure messages. */
  output(): string;
  /** Resolves when the process has ended, whatever ended it. */
  readonly exited: Promise<void>;
  /** Sends the signal and waits for the process to end. */
  stop(signal: NodeJS.Signals): Promise<void>;
}

export { freePort } from '../../src/net/index.js';

/** Writes a config file into `dir` and returns its path. */
export function writeConfig(dir: string, values: Record<string, unknown>): string {
  const file = join(dir, 'airlock.yaml');
  writeFileSync(file, stringify(values));
  return file;
}

/**
 * Starts the built `airlock start --config FILE` (as `npm start` runs it; the test setup and the
 * bench scripts build it first) and waits until `/readyz` answers.
 */
export async function startGatewayProcess(
  configFile: string,
  port: number,
  env: Record<string, string> = {},
): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    ['dist/cli/main.js', 'start', '--config', configFile, '--port', String(port)],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited at start:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gateway not ready after 30 s:\n${output}`);
    }
    const ready = await fetch(`${url}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    child,
    output: () => output,
    exited,
    stop: async (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
