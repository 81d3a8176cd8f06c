import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { entryWithDigest, secretDigest } from '../secret-digest.js';
import { preparedQuery, type Store } from '../store/index.js';

/** An authenticated agent and what it may propose. */
export interface Agent {
  readonly name: string;
  readonly operations: readonly string[];
}

/** An agent added to the store, by its key's hash: run for every request of such an agent. */
const agentWithKey = preparedQuery((db, v: { keySha256: string }) =>
  db.selectFrom('agents').selectAll().where('key_sha256', '=', v.keySha256),
);

/**
 * The agent whose key this is: agents of the config first, then those added with
 * `airlock agents add` under a name the config does not use. Keys are stored as SHA-256 only and compared in constant time.
 * Throws `unauthorized` (401).
 */
export async function authenticateAgent(
  store: Store,
  agents: Config['agents'],
  authorization: string | undefined,
): Promise<Agent> {
  const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (!key)
    throw new AppError(
      'unauthorized',
      401,
      'an agent key is required: Authorization: Bearer <key>',
    );
  const keyHash = secretDigest(key);
  const found = entryWithDigest(agents, keyHash, (agent) => agent.keySha256);
  if (found) return { name: found[0], operations: found[1].operations };
  const [row] = (await agentWithKey(store.db, { keySha256: keyHash.toString('hex') })).rows;
  if (!row) throw new AppError('unauthorized', 401, 'the agent key is not recognised');
  // The config owns its names: a key added under one before the config took it no longer counts.
  if (Object.hasOwn(agents, row.name)) {
    throw new AppError(
      'unauthorized',
      401,
      `the agent key is not recognised: it was added as ${row.name}, a name the config now defines with a key of its own`,
    );
  }
  return { name: row.name, operations: JSON.parse(row.operations) as string[] };
}

/**
 * Creates an agent in the store and returns its key, which is shown once and stored only as a
 * hash. Throws `agent-exists` (409) when the name is taken in the config or the store.
 */
export async function addAgent(
  store: Store,
  configured: Config['agents'],
  name: string,
  operations: readonly string[],
): Promise<string> {
  if (Object.hasOwn(configured, name)) {
    throw new AppError('agent-exists', 409, `agent ${name} is defined in the config`);
  }
  const key = `ak_${randomBytes(24).toString('base64url')}`;
  const inserted = await store.db
    .insertInto('agents')
    .values({
      name,
      key_sha256: secretDigest(key).toString('hex'),
      operations: JSON.stringify(operations),
      created_at: Date.now(),
    })
    .onConflict((oc) => oc.column('name').doNothing())
    .executeTakeFirst();
  if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) {
    throw new AppError('agent-exists', 409, `agent ${name} exists already`);
  }
  return key;
}
