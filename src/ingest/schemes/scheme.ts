/** A webhook request as received, before anything is trusted. */
export interface WebhookRequest {
  readonly method: string;
  /** The URL as the provider called it: scheme, host, path and query (HubSpot v3 signs it). */
  readonly url: string;
  /** Header names lower-cased; a repeated header joined with ', '. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The exact bytes received. Signatures are checked over these, never over re-serialised JSON. */
  readonly body: Buffer;
}

/**
 * Why verify() refused a request (all answer 401):
 * - `signature-missing`: the signature header is absent or blank;
 * - `signature-invalid`: anything else wrong with what is signed (no usable signature, no match,
 *   a missing or unparseable id/timestamp header);
 * - `timestamp-out-of-tolerance`: the signature matched but its timestamp is too far from now.
 */
export type VerifyFailure =
  | 'signature-missing'
  | 'signature-invalid'
  | 'timestamp-out-of-tolerance';

export type VerifyResult = { ok: true } | { ok: false; code: VerifyFailure; detail: string };

/** The record an event is about, as the payload names it. */
export interface RecordRef {
  readonly type: string;
  readonly id: string;
}

/** One event found in a request (HubSpot batches several in one request). */
export interface EventIdentity {
  /** The provider's own id for the event, as it sent it. */
  readonly providerEventId: string;
  /** What makes two deliveries the same event for this source; unique per source in the inbox. */
  readonly dedupKey: string;
  readonly type: string | null;
  readonly record: RecordRef | null;
  /** When the provider says the event happened, epoch milliseconds. */
  readonly occurredAt: number | null;
  /** Position in a batched body; null when the body is a single event. */
  readonly itemIndex: number | null;
}

/** The parts of an `EventIdentity` taken from the request, as a malformed-body problem names them. */
export type EventField = 'providerEventId' | 'type' | 'record.type' | 'record.id' | 'occurredAt';

/** Per-source settings a scheme reads; the config validates them. */
export interface SchemeOptions {
  /**
   * How far a signed timestamp may be from now, in seconds; exactly at the limit is accepted.
   * Default 300 (`DEFAULT_TOLERANCE_SECONDS`), filled in by the config.
   */
  readonly toleranceSeconds: number;
  /**
   * hmac-sha256: the header carrying the signature; header-token: the header carrying the token.
   * Required by both.
   */
  readonly signatureHeader?: string | undefined;
  /** hmac-sha256 only: how the digest is written. Default `hex`. */
  readonly encoding?: 'hex' | 'base64' | undefined;
  /** hmac-sha256 only: a prefix before the digest, e.g. `sha256=`. */
  readonly signaturePrefix?: string | undefined;
  /** hmac-sha256 only: a header carrying the event id; without it the id is a content hash. */
  readonly eventIdHeader?: string | undefined;
}

export type SchemeName =
  | 'standard-webhooks'
  | 'hubspot-v3'
  | 'zendesk'
  | 'stripe'
  | 'github'
  | 'hmac-sha256'
  | 'intercom'
  | 'basic-auth'
  | 'header-token'
  | 'salesforce-outbound';

/** A fixed answer body a provider requires instead of Airlock's JSON answer. */
export interface Acknowledgement {
  /** The `Content-Type` of the answer, e.g. `text/xml; charset=utf-8`. */
  readonly contentType: string;
  readonly body: string;
}

export interface WebhookScheme {
  readonly name: SchemeName;
  /**
   * Checks the signature in constant time against each secret (several during a rotation) over
   * the raw body; `nowMs` is the clock (epoch ms). Never throws for bad input.
   */
  verify(
    request: WebhookRequest,
    secrets: readonly string[],
    options: SchemeOptions,
    nowMs: number,
  ): VerifyResult;
  /**
   * The events a verified request carries. Throws AppError `malformed-body` (400) when the body
   * is not what the provider sends.
   */
  identify(request: WebhookRequest, options: SchemeOptions): EventIdentity[];
  /**
   * Where `identify` reads each field in the provider's request (`created`, `webhook-id header`),
   * so that a problem with it names what the sender wrote. The ingestor checks every identified
   * event before storing it (`checkEvents`).
   */
  readonly fields?: Partial<Readonly<Record<EventField, string>>>;
  /**
   * Present when the provider needs a particular answer to stop retrying (Salesforce's SOAP
   * `Ack`): the edge then answers every accepted request, new or duplicate, with HTTP 200 and this
   * body instead of the JSON answer. Errors are answered as for any other scheme.
   */
  acknowledge?(): Acknowledgement;
  /**
   * Headers that carry the secret itself (a shared token), so they are never stored with the
   * request. Signatures are not secrets and are kept; `authorization` is never kept anyway.
   */
  secretHeaders?(options: SchemeOptions): readonly string[];
}
