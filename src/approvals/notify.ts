import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import type { Config } from '../config.js';
import { standardWebhooksHeaders } from '../ingest/index.js';
import type { ApprovalView } from './approvals.js';

/** Waits before each retry of a notification; then it is given up (and logged). */
const RETRY_DELAYS_MS = [1_000, 5_000, 30_000];
const TIMEOUT_MS = 5_000;

type NotifyConfig = NonNullable<Config['approvals']['notify']>;

/** The body announcing `approval`: the approval as JSON, or Slack's `{ text }`. */
export function notificationBody(
  approval: ApprovalView,
  format: NotifyConfig['format'],
  link: string | null,
): string {
  if (format === 'json') return JSON.stringify({ type: 'approval.requested', approval, link });
  const target = approval.target as { system: string; type: string; id: string };
  const text =
    `Approval needed: ${approval.agent} proposes ${approval.operation} on ` +
    `${target.system}:${target.type}:${target.id}. ${approval.reason}. ` +
    `Expires ${approval.expiresAt}.${link ? ` <${link}|Review ${approval.approval}>` : ''}`;
  return JSON.stringify({ text });
}

/**
 * Announces new approvals to `notify.url`: a POST signed as Standard Webhooks (the approval id is
 * the `webhook-id`, so a receiver can drop repeats), retried after 1 s, 5 s and 30 s on a failure
 * or a non-2xx answer. In the background: a proposal never waits for it, nor fails by it.
 */
export function createApprovalNotifier(
  notify: NotifyConfig,
  publicUrl: string | undefined,
  onGiveUp: (approval: string, reason: string) => void,
): (approval: ApprovalView) => Promise<void> {
  return async (approval) => {
    const link = publicUrl
      ? `${publicUrl.replace(/\/+$/, '')}/v1/approvals/${approval.approval}`
      : null;
    const body = notificationBody(approval, notify.format, link);
    let reason = '';
    for (const delay of [0, ...RETRY_DELAYS_MS]) {
      if (delay > 0) await sleep(delay);
      try {
        const response = await request(notify.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...standardWebhooksHeaders(notify.secret.reveal(), approval.approval, Date.now(), body),
          },
          body,
          headersTimeout: TIMEOUT_MS,
          bodyTimeout: TIMEOUT_MS,
        });
        await response.body.dump();
        if (response.statusCode >= 200 && response.statusCode < 300) return;
        reason = `HTTP ${response.statusCode}`;
      } catch (error) {
        reason = error instanceof Error ? error.message : String(error);
      }
    }
    onGiveUp(approval.approval, reason);
  };
}
