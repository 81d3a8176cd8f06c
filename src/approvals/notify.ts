import type { Config } from '../config.js';
import { postSigned } from '../notify/signed-post.js';
import type { ApprovalView } from './approvals.js';

type NotifyConfig = NonNullable<Config['approvals']['notify']>;

/** The body announcing `approval`: the approval as JSON, or Slack's `{ text }`. */
export function notificationBody(
  approval: ApprovalView,
  format: NotifyConfig['format'],
  link: string | null,
): string {
  if (format === 'json') return JSON.stringify({ type: 'approval.requested', approval, link });
  const target = approval.target as { system: string; type: string; id: string };
  // What agents and rules wrote is text: escaped, a target id cannot add a link or a mention.
  const said =
    `Approval needed: ${approval.agent} proposes ${approval.operation} on ` +
    `${target.system}:${target.type}:${target.id}. ${approval.reason}. ` +
    `Expires ${approval.expiresAt}.`;
  const text = `${slackEscaped(said)}${link ? ` <${link}|Review ${approval.approval}>` : ''}`;
  return JSON.stringify({ text });
}

/** Text as Slack's mrkdwn shows it literally: `&`, `<` and `>` escaped, as Slack documents. */
function slackEscaped(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/**
 * Announces new approvals to `notify.url`: a POST signed as Standard Webhooks (the approval id is
 * the `webhook-id`, so a receiver can drop repeats), retried (see `postSigned`). In the
 * background: a proposal never waits for it, nor fails by it.
 */
export function createApprovalNotifier(
  notify: NotifyConfig,
  publicUrl: string | undefined,
  /** Where a person reviews it: the dashboard's page, or the API's when there is no dashboard. */
  pathOf: (approval: string) => string,
  onGiveUp: (approval: string, reason: string) => void,
): (approval: ApprovalView) => Promise<void> {
  return async (approval) => {
    const link = publicUrl ? `${publicUrl.replace(/\/+$/, '')}${pathOf(approval.approval)}` : null;
    const failed = await postSigned({
      url: notify.url,
      secret: notify.secret.reveal(),
      id: approval.approval,
      body: notificationBody(approval, notify.format, link),
      // An operator's own endpoint (often on its network), not an agent's: unchecked, as before.
      allowPrivateNetwork: true,
    });
    if (failed !== null) onGiveUp(approval.approval, failed);
  };
}
