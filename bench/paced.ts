import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

/** One request of a paced run; `answered` gets the status and body (status 0: no answer). */
export interface PacedCall {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  answered(status: number, body: string): void;
}

export interface PacedResult {
  /** Requests sent; every one was waited for. */
  readonly sent: number;
  /** Requests that got no answer (connection error). */
  readonly errors: number;
  /** One per answered request, ms, from the time it was due. */
  readonly latenciesMs: number[];
}

/**
 * An open loop: `rate` requests a second for `seconds`, evenly spaced whatever the answers take,
 * over at most `connections` keep-alive connections. Latency counts from the moment a request was
 * due, so time spent waiting for a free connection or a late timer is part of it. (autocannon's
 * `overallRate` is no substitute: each connection sends its quota back to back at the start of
 * every second, which measures bursts at saturation, not a moderate load.)
 */
export async function paced(
  url: string,
  options: { rate: number; seconds: number; connections: number },
  next: () => PacedCall,
): Promise<PacedResult> {
  const { hostname, port } = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const latenciesMs: number[] = [];
  const pending: Promise<void>[] = [];
  let errors = 0;
  const total = Math.round(options.rate * options.seconds);
  const interval = 1000 / options.rate;
  const start = performance.now();

  const send = (due: number): Promise<void> =>
    new Promise((resolve) => {
      const call = next();
      const req = request(
        { agent, hostname, port, method: call.method, path: call.path, headers: call.headers },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            latenciesMs.push(performance.now() - due);
            call.answered(response.statusCode ?? 0, Buffer.concat(chunks).toString());
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        call.answered(0, '');
        resolve();
      });
      req.end(call.body);
    });

  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        pending.push(send(start + sent * interval));
        sent += 1;
      }
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      else resolve();
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();
  return { sent, errors, latenciesMs };
}

/** The nearest-rank percentile `p` (0–100) of `values`, which it sorts. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  values.sort((a, b) => a - b);
  const rank = Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1));
  return values[rank] as number;
}

/** CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line; clock ticks are 1/100 s on Linux.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A thread's seconds on a CPU, and runnable but waiting for one. */
export interface ThreadTime {
  readonly ran: number;
  readonly waited: number;
}

/**
 * Each thread of a process by id: its time on a CPU and its time runnable but waiting for one,
 * in seconds so far, from `/proc/<pid>/task/<tid>/schedstat`.
 */
export function threadTimes(pid: number): Map<number, ThreadTime> {
  const times = new Map<number, ThreadTime>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [ran, waited] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
      times.set(Number(tid), { ran: Number(ran) / 1e9, waited: Number(waited) / 1e9 });
    } catch {
      // The thread ended meanwhile.
    }
  }
  return times;
}
