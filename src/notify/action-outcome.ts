import { toActionView } from '../actions/action-view.js';
import type { Config } from '../config.js';
import type { Store } from '../store/index.js';
import { postSigned } from './signed-post.js';

/**
 * Tells an agent how an action of its ended, when the agent has a `deliver` URL: a POST of
 * `{ type: 'action.outcome', action }` signed as Standard Webhooks, `webhook-id`
 * `<action id>-<status>`. In the background; `onGiveUp` hears of one that could not be sent.
 */
export function createOutcomeNotifier(
  store: Store,
  agents: Config['agents'],
  onGiveUp: (action: string, reason: string) => void,
): (actionId: string) => Promise<void> {
  return async (actionId) => {
    const row = await store.db
      .selectFrom('actions')
      .selectAll()
      .where('id', '=', actionId)
      .executeTakeFirst();
    const deliver =
      row && Object.hasOwn(agents, row.agent) ? agents[row.agent]?.deliver : undefined;
    if (!row || !deliver?.url || !deliver.secret) return;
    const failed = await postSigned({
      url: deliver.url,
      secret: deliver.secret.reveal(),
      id: `${row.id}-${row.status}`,
      body: JSON.stringify({ type: 'action.outcome', action: toActionView(row) }),
      allowPrivateNetwork: deliver.allowPrivateNetwork,
    });
    if (failed !== null) onGiveUp(row.id, failed);
  };
}
