const ACTION_ID = /^act_[0-9a-f]+$/;
/** HubSpot's `sourceId` is `<actor>:<action id>` when the write named both. */
const SOURCE_ID_ACTION = /(?:^|:)(act_[0-9a-f]+)$/;

/**
 * The Airlock action a webhook payload says caused it, or null. Airlock sends its action id
 * with every write (`X-Action-Id`); a system that carries it into its webhooks makes the echo
 * traceable. The sandbox does, in the places the real formats leave room for it:
 * - Zendesk event webhooks: `detail.action_id`;
 * - HubSpot v3 items: `sourceId` = `<actor>:<action id>` (with `changeSource: INTEGRATION`).
 * A provider that drops it (real Zendesk and HubSpot do) yields no echoes.
 */
export function actionOfPayload(payload: unknown): string | null {
  if (!isObject(payload)) return null;
  const detail = payload.detail;
  if (isObject(detail) && typeof detail.action_id === 'string' && ACTION_ID.test(detail.action_id))
    return detail.action_id;
  if (typeof payload.sourceId === 'string') {
    return SOURCE_ID_ACTION.exec(payload.sourceId)?.[1] ?? null;
  }
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
