import { verifyPrefixedBodyHmac } from './body-signature.js';
import { readNonEmptyHeader, rejected } from './headers.js';
import { isJsonObject, type JsonObject, malformed, parseJsonObject } from './payload.js';
import type {
  EventIdentity,
  RecordRef,
  VerifyResult,
  WebhookRequest,
  WebhookScheme,
} from './scheme.js';

const PREFIX = 'sha256=';

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, keyed with the secret as
 * UTF-8. The legacy SHA-1 `X-Hub-Signature` is not accepted, alone or alongside. GitHub signs no
 * timestamp, so replays are caught by deduplication on `X-GitHub-Delivery` only.
 */
function verify(request: WebhookRequest, secrets: readonly string[]): VerifyResult {
  const header = readNonEmptyHeader(request, 'x-hub-signature-256');
  if (header === undefined) return rejected('signature-missing', 'no x-hub-signature-256 header');
  return verifyPrefixedBodyHmac(request, secrets, header, PREFIX, 'hex');
}

/** The issue or pull request the payload is about, as `owner/repo#number`. */
function recordOf(payload: JsonObject): RecordRef | null {
  const repository = payload.repository;
  if (!isJsonObject(repository) || typeof repository.full_name !== 'string') return null;
  for (const type of ['issue', 'pull_request'] as const) {
    const item = payload[type];
    if (isJsonObject(item) && typeof item.number === 'number') {
      return { type, id: `${repository.full_name}#${item.number}` };
    }
  }
  return null;
}

/**
 * One event: id and dedup key = `X-GitHub-Delivery` (unchanged on redelivery); type =
 * `X-GitHub-Event` plus `.action` when the payload has one (`issues.opened`). The body must be
 * JSON: configure the hook with content type `application/json`, not form-encoded.
 */
function identify(request: WebhookRequest): EventIdentity[] {
  const delivery = readNonEmptyHeader(request, 'x-github-delivery');
  if (delivery === undefined) throw malformed('no x-github-delivery header');
  const payload = parseJsonObject(request.body);
  const event = readNonEmptyHeader(request, 'x-github-event') ?? null;
  const action = typeof payload.action === 'string' ? payload.action : null;
  return [
    {
      providerEventId: delivery,
      dedupKey: delivery,
      type: event !== null && action !== null ? `${event}.${action}` : event,
      record: recordOf(payload),
      occurredAt: null,
      itemIndex: null,
    },
  ];
}

/** GitHub repository and organisation webhooks. */
export const github: WebhookScheme = {
  name: 'github',
  verify,
  identify,
  fields: {
    providerEventId: 'x-github-delivery header',
    type: 'x-github-event header and action',
    'record.id': 'repository.full_name and number',
  },
};
