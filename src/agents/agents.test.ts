import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useTestStores } from '../../test/helpers/stores.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { addAgent, authenticateAgent } from './agents.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('agents of the config and of the store', () => {
  const stores = useTestStores('sqlite');

  it('lets the config own a name: a key added under it earlier no longer counts', async () => {
    const store = await stores.open();
    const addedKey = await addAgent(store, {}, 'support-bot', ['email.send']);
    const bearer = (key: string) => `Bearer ${key}`;
    expect(await authenticateAgent(store, {}, bearer(addedKey))).toEqual({
      name: 'support-bot',
      operations: ['email.send'],
    });

    // The config now defines the name, with another key and other operations.
    const configured: Config['agents'] = {
      'support-bot': {
        keySha256: sha256('ak_configured'),
        operations: ['ticket.reply'],
      } as Config['agents'][string],
    };
    expect(await authenticateAgent(store, configured, bearer('ak_configured'))).toEqual({
      name: 'support-bot',
      operations: ['ticket.reply'],
    });
    const refused = await authenticateAgent(store, configured, bearer(addedKey)).catch(
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({ code: 'unauthorized', status: 401 });
    expect((refused as AppError).message).toContain('a name the config now defines');
    await expect(addAgent(store, configured, 'support-bot', ['email.send'])).rejects.toMatchObject({
      code: 'agent-exists',
    });
  });
});
