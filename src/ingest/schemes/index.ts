import { basicAuth } from './basic-auth.js';
import { github } from './github.js';
import { headerToken } from './header-token.js';
import { hmacSha256 } from './hmac-sha256.js';
import { hubspotV3 } from './hubspot-v3.js';
import { intercom } from './intercom.js';
import { salesforceOutbound } from './salesforce-outbound.js';
import type { SchemeName, WebhookScheme } from './scheme.js';
import { standardWebhooks } from './standard-webhooks.js';

export { standardWebhooksHeaders } from './standard-webhooks.js';

import { stripe } from './stripe.js';
import { zendesk } from './zendesk.js';

export { checkSchemeOptions, checkSecret } from './check-config.js';
export { checkEvents } from './check-events.js';
export type {
  Acknowledgement,
  EventField,
  EventIdentity,
  RecordRef,
  SchemeName,
  SchemeOptions,
  VerifyFailure,
  VerifyResult,
  WebhookRequest,
  WebhookScheme,
} from './scheme.js';
export { DEFAULT_TOLERANCE_SECONDS } from './tolerance.js';

/** Every scheme a source can name in the config, by name. */
export const schemes: Record<SchemeName, WebhookScheme> = Object.freeze({
  'standard-webhooks': standardWebhooks,
  'hubspot-v3': hubspotV3,
  zendesk,
  stripe,
  github,
  'hmac-sha256': hmacSha256,
  intercom,
  'basic-auth': basicAuth,
  'header-token': headerToken,
  'salesforce-outbound': salesforceOutbound,
});
