import { createServer } from 'node:net';

/** Below every system's range for outgoing connections' ports (Linux 32768–60999, others 49152+). */
const LOWEST = 20000;
const HIGHEST = 32767;

/**
 * A TCP port on loopback that nothing listens on now, for a server that must be named before it
 * starts (a sandbox and a gateway that call each other). Chosen from 20000–32767: a port the
 * system hands out (`listen(0)`) is in its range for outgoing connections, and a client socket
 * opened meanwhile could take it before the server listens (EADDRINUSE).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${LOWEST} and ${HIGHEST}`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
