import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Config, loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import { openStore, type Store, sqlitePath } from '../store/index.js';

export interface ConfigOption {
  readonly config?: string;
}

/** The config file a command names: `--config`, else `$AIRLOCK_CONFIG`, else none (defaults). */
export function configFile(options: ConfigOption): string | undefined {
  if (options.config?.trim() === '') {
    throw new AppError('config-not-found', 404, '--config is empty: name a config file');
  }
  return options.config ?? process.env.AIRLOCK_CONFIG;
}

/**
 * Opens the configured store. A SQLite file that is not there, or is empty, is refused unless
 * `create`: a command that reads would otherwise report on a new, empty store (`audit verify`
 * saying ok), and leave one behind.
 */
export async function openConfiguredStore(
  config: Config,
  file: string | undefined,
  { create = false } = {},
): Promise<Store> {
  const path = sqlitePath(config.store.url);
  const from = `from ${file ?? 'the defaults: no --config and no AIRLOCK_CONFIG'}`;
  if (!create && path && path !== ':memory:' && !(existsSync(path) && statSync(path).size > 0)) {
    throw new AppError(
      'store-not-found',
      404,
      `no store at ${resolve(path)}${existsSync(path) ? ' (an empty file)' : ''} (store.url ${config.store.url}, ${from}); a relative path is taken from the current directory`,
    );
  }
  try {
    return await openStore(config.store.url, { poolSize: 2, create });
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'store-not-found') throw error;
    throw new AppError('store-not-found', 404, `${error.message} (store.url, ${from})`);
  }
}

/** Runs `fn` on the configured store (see `openConfiguredStore`), closing it after. */
export async function withStore<T>(
  options: ConfigOption,
  fn: (store: Store, config: Config) => Promise<T>,
  { create = false } = {},
): Promise<T> {
  const file = configFile(options);
  const config = loadConfig({ file });
  const store = await openConfiguredStore(config, file).catch(async (error: unknown) => {
    if (!create || !(error instanceof AppError) || error.code !== 'store-not-found') throw error;
    // A command that writes makes the store, but says so: a mistyped store.url would otherwise
    // put its change where no gateway looks.
    const made = await openConfiguredStore(config, file, { create: true });
    process.stderr.write(`airlock: made a new store, as there was none: ${error.message}\n`);
    return made;
  });
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}
