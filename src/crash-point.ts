const KILL_AT = process.env.AIRLOCK_TEST_KILL_AT;

/**
 * A named step where crash tests stop the process: when `AIRLOCK_TEST_KILL_AT` names it, the
 * process kills itself with SIGKILL right there, as a power cut or an OOM kill would, with no
 * chance to finish or clean up. Unset (always, outside those tests), it does nothing.
 */
export function crashPoint(name: string): void {
  if (KILL_AT === name) process.kill(process.pid, 'SIGKILL');
}
