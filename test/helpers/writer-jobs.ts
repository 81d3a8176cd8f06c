// Writer jobs (store/sqlite-writer.ts) that misbehave, for testing the writer thread itself.
import { threadId } from 'node:worker_threads';
import type { Database as SqliteDatabase } from 'better-sqlite3';

/** Begins a transaction, writes in it, and answers without ending it. */
export function leaveOpen(connection: SqliteDatabase) {
  return () => {
    connection.exec('BEGIN IMMEDIATE');
    connection.exec('create table if not exists leftover (x)');
    connection.exec('insert into leftover values (1)');
    return 'answered';
  };
}

/**
 * Does nothing; from then on, the thread ends the moment a WAL restart (wal-restart.ts) begins
 * its checkpoint, as an out-of-memory kill of its isolate would.
 */
export function dieInRestart(connection: SqliteDatabase) {
  const pragma = connection.pragma.bind(connection);
  connection.pragma = ((source: string, options?: { simple?: boolean }) => {
    if (source.startsWith('wal_checkpoint(RESTART)')) process.exit(3);
    return pragma(source, options);
  }) as SqliteDatabase['pragma'];
  return () => 'done';
}

/** Answers the id of the thread it runs in. */
export function whichThread() {
  return () => threadId;
}

let tried = false;

/** Fails to start the first time it is asked for (its statements failing to prepare), then runs. */
export function failsToStartOnce() {
  if (!tried) {
    tried = true;
    throw new Error('could not start this time');
  }
  return () => 'ran';
}

export const WRITER_JOBS_MODULE = new URL('./writer-jobs.js', import.meta.url);
