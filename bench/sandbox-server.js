// The sandbox for bench:actions, in its own process: the built `createSandbox` with no request
// log and no webhooks (`airlock sandbox` logs every request at info, which would be measured too).
// It keeps every write: the bench checks them all.
import { createSandbox } from '../dist/sandbox/index.js';

const sandbox = createSandbox({ keep: Number.POSITIVE_INFINITY });
await sandbox.listen(Number(process.argv[2]));
