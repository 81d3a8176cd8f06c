import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { createServer } from './http/index.js';
import { createIngestor, pruneInbox } from './ingest/index.js';
import { openStore, type Store } from './store/index.js';

/** A running gateway. */
export interface Gateway {
  readonly app: FastifyInstance;
  readonly store: Store;
  /** `http://host:port` it listens on. */
  readonly url: string;
  /** Stops taking requests, lets accepted ones commit, then closes the store. */
  close(): Promise<void>;
}

/** The composition root: config → store → modules → HTTP server, listening. */
export async function startGateway(config: Config): Promise<Gateway> {
  const store = await openStore(config.store.url, { poolSize: config.store.poolSize });
  const ingestor = createIngestor({ store, config });
  const app = await createServer({ config, store, ingestor });
  const stopPruning = schedulePruning(store, config, app);
  try {
    await app.listen({ host: config.server.host, port: config.server.port });
  } catch (error) {
    stopPruning();
    await app.close();
    await ingestor.close();
    await store.close();
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.server.port;
  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    url: `http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${port}`,
    close: () => {
      closing ??= (async () => {
        stopPruning();
        await app.close();
        await ingestor.close();
        await store.close();
      })();
      return closing;
    },
  };
}

/** Prunes the inbox past its retention now and every `retention.pruneInterval`. */
function schedulePruning(store: Store, config: Config, app: FastifyInstance): () => void {
  const prune = () =>
    pruneInbox(store, Date.now() - config.retention.events).then(
      (pruned) => {
        if (pruned.events + pruned.requests > 0) app.log.info({ pruned }, 'pruned inbox');
      },
      (err: unknown) => app.log.error({ err }, 'pruning the inbox failed; will retry'),
    );
  const first = setTimeout(prune, 1_000);
  const timer = setInterval(prune, config.retention.pruneInterval);
  first.unref();
  timer.unref();
  return () => {
    clearTimeout(first);
    clearInterval(timer);
  };
}
