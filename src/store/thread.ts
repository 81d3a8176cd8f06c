import { type MessagePort, Worker } from 'node:worker_threads';

/**
 * Starts a worker thread running `entry`, the URL of a compiled module beside the caller
 * (`new URL('./x.js', import.meta.url)`). Run from the TypeScript sources (tests, tsx), the
 * thread loads `x.ts` through tsx instead.
 */
export function startThread(entry: URL, workerData: unknown): Worker {
  if (!FROM_SOURCES) return new Worker(entry, { workerData, resourceLimits: THREAD_LIMITS });
  const source = JSON.stringify(moduleHref(entry));
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${source}); })`;
  return new Worker(bootstrap, { workerData, eval: true, resourceLimits: THREAD_LIMITS });
}

const FROM_SOURCES = import.meta.url.endsWith('.ts');

/**
 * Our threads make short-lived garbage only (a batch's rows and hashes). V8 grows a busy
 * isolate's young generation to tens of megabytes, resident for the process's life; capped, it
 * is scavenged more often, which costs less than the memory.
 */
const THREAD_LIMITS = { maxYoungGenerationSizeMb: 4 };

/** The URL a thread imports for a compiled module's URL: its `.ts` source when run from them. */
export function moduleHref(compiled: URL): string {
  return FROM_SOURCES ? compiled.href.replace(/\.js$/, '.ts') : compiled.href;
}

/** Asks a thread to close (it answers the message `'close'`) and waits until it has exited. */
export function stopThread(thread: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
  // An idle thread is unref'd: with nothing else pending (a CLI command closing its store), the
  // process would end with this wait unsettled (exit code 13) rather than wait for the exit.
  thread.ref();
  thread.postMessage('close');
  return exited;
}

/** A message to a thread, and its answer. */
export interface ThreadRequest<T> {
  readonly id: number;
  readonly payload: T;
}
export type ThreadResponse =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly message: string };

/** Request and answer over a thread that answers each `ThreadRequest` with a `ThreadResponse`. */
export interface ThreadClient<T> {
  request(payload: T): Promise<unknown>;
  close(): Promise<void>;
  /** The thread failed or exited: every request is refused; start another to go on. */
  readonly failed: boolean;
}

/**
 * A client for `thread`. An idle thread does not keep the process alive; one with requests under
 * way does. When the thread fails or exits, every waiting and later request is rejected.
 */
export function threadClient<T>(thread: Worker, name: string): ThreadClient<T> {
  const waiting = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let failure: Error | undefined;
  const failAll = (error: Error) => {
    failure = error;
    for (const pending of waiting.values()) pending.reject(error);
    waiting.clear();
  };
  thread.on('message', (response: ThreadResponse) => {
    const pending = waiting.get(response.id);
    waiting.delete(response.id);
    if (waiting.size === 0) thread.unref();
    if (response.ok) pending?.resolve(response.result);
    else pending?.reject(new Error(`${name} failed: ${response.message}`));
  });
  thread.on('error', (error) => failAll(new Error(`the ${name} thread failed`, { cause: error })));
  thread.on('exit', () => failAll(new Error(`the ${name} thread has stopped`)));
  thread.unref();
  return {
    request: (payload) =>
      new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        thread.ref();
        thread.postMessage({ id, payload } satisfies ThreadRequest<T>);
      }),
    close: async () => {
      if (!failure) await stopThread(thread);
    },
    get failed() {
      return failure !== undefined;
    },
  };
}

/**
 * The thread's side: answers each request with `handle`'s result, one request at a time in the
 * order they came, and closes on `'close'` (after `onClose`).
 */
export function serveRequests<T>(
  port: MessagePort,
  handle: (payload: T) => unknown,
  onClose: () => void,
): void {
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (message: ThreadRequest<T> | 'close') => {
    queue = queue.then(async () => {
      if (message === 'close') {
        onClose();
        port.close();
        return;
      }
      try {
        const result = await handle(message.payload);
        port.postMessage({ id: message.id, ok: true, result } satisfies ThreadResponse);
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        port.postMessage({ id: message.id, ok: false, message: text } satisfies ThreadResponse);
      }
    });
  });
}
