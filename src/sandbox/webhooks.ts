import type { SandboxState } from './state.js';
import type { WebhookSender } from './webhook-delivery.js';
import { hubspotHeaders, hubspotItems } from './webhook-hubspot.js';
import { zendeskEvents, zendeskHeaders } from './webhook-zendesk.js';

/** Where webhooks go: one URL for both channels, or one each. */
export type WebhookUrls = string | { readonly helpdesk?: string; readonly crm?: string };

/** Where webhooks go and the secrets they are signed with. */
export interface WebhookSettings {
  readonly urls: WebhookUrls | undefined;
  readonly helpdeskSecret: string;
  readonly crmSecret: string;
}

/**
 * Sends a webhook for every applied write: helpdesk writes as Zendesk event webhooks, one
 * request per event; CRM and order writes as one HubSpot v3 batch per write, to the CRM URL.
 * Signed at each attempt with the sandbox's clock, as a provider signs each retry afresh.
 */
export function emitWebhooks(
  state: SandboxState,
  sender: WebhookSender,
  settings: WebhookSettings,
): void {
  const helpdeskUrl = typeof settings.urls === 'string' ? settings.urls : settings.urls?.helpdesk;
  const crmUrl = typeof settings.urls === 'string' ? settings.urls : settings.urls?.crm;
  // HubSpot says eventId is not guaranteed unique; here it is unique per sandbox run.
  let lastEventId = Math.floor(state.now() / 1000) * 1000;
  const nextEventId = () => {
    lastEventId += 1;
    return lastEventId;
  };

  state.listeners.push((write) => {
    if (write.system === 'helpdesk') {
      if (helpdeskUrl === undefined) return;
      for (const event of zendeskEvents(write)) {
        const body = JSON.stringify(event);
        sender.send({ channel: 'helpdesk', url: helpdeskUrl, writeSeq: write.seq }, () => ({
          body,
          headers: zendeskHeaders(
            body,
            settings.helpdeskSecret,
            new Date(state.now()).toISOString(),
          ),
        }));
      }
      return;
    }
    if (crmUrl === undefined) return;
    const items = hubspotItems(write, nextEventId);
    sender.send({ channel: 'crm', url: crmUrl, writeSeq: write.seq }, (attempt) => {
      const body = JSON.stringify(items.map((item) => ({ ...item, attemptNumber: attempt })));
      return { body, headers: hubspotHeaders(crmUrl, body, settings.crmSecret, state.now()) };
    });
  });
}
