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
      if (typeof factory !== 'function') {
        throw new Error(`no writer job ${job.name} in ${job.module}`);
      }
      return factory(connection, job.options);
    });
    runners.set(key, runner);
    // A job that failed to start (its statements failed to prepare) tries again with its next
    // batch, rather than fail every batch while the thread lives.
    runner.catch(() => runners.delete(key));
  }
  return runner;
}

/**
 * Runs a batch, answering only for what it committed. A job that ended with its transaction
 * still open (a rollback that threw) would turn the next batch's transaction, of either job,
 * into a savepoint inside it, and that batch would be answered without a commit: the
 * transaction is rolled back and the batch fails; if even that fails, the thread ends, failing
 * what it holds, and the next batch starts another.
 */
async function runBatch({ job, batch }: WriterRequest): Promise<unknown> {
  const run = await runnerOf(job);
  try {
    const answer = await run(batch);
    if (connection.inTransaction) {
      throw new Error(`writer job ${job.name} left its transaction open`);
    }
    restartWalIfAsked(connection, data.restartFlag);
    return answer;
  } finally {
    if (connection.inTransaction) rollBackOrEnd();
  }
}

function rollBackOrEnd(): void {
  try {
    connection.exec('ROLLBACK');
  } catch {
    process.exit(1);
  }
}

serveRequests<WriterRequest>(port, runBatch, () => connection.close());
