// The writer thread of a SQLite file (see sqlite-writer.ts): one connection, the batches of
// every job in the order they came, and the WAL started over between two of them when the
// checkpoint thread asks (wal-restart.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { openWriterConnection } from './sqlite-connection.js';
import type {
  WriterJob,
  WriterJobFactory,
  WriterJobRunner,
  WriterRequest,
  WriterThreadData,
} from './sqlite-writer.js';
import { serveRequests } from './thread.js';
import { restartWalIfAsked } from './wal-restart.js';

const port = parentPort;
if (!port) throw new Error('sqlite-writer-thread runs only as a worker thread');
const data = workerData as WriterThreadData;
const connection = openWriterConnection(data.path);

/** Each job's runner, made by its first batch: a job never sent loads nothing here. */
const runners = new Map<string, Promise<WriterJobRunner>>();

function runnerOf(job: WriterJob): Promise<WriterJobRunner> {
  const key = JSON.stringify([job.module, job.name, job.options]);
  let runner = runners.get(key);
  if (!runner) {
    runner = import(job.module).then((module) => {
      const factory = module[job.name] as WriterJobFactory | undefined;
      if (typeof factory !== 'function')
        throw new Error(`no writer job ${job.name} in ${job.module}`);
      return factory(connection, job.options);
    });
    runners.set(key, runner);
  }
  return runner;
}

serveRequests<WriterRequest>(
  port,
  async ({ job, batch }) => {
    const run = await runnerOf(job);
    const answer = await run(batch);
    restartWalIfAsked(connection, data.restartFlag);
    return answer;
  },
  () => connection.close(),
);
