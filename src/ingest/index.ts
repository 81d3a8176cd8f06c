export {
  type EventPage,
  eventPayload,
  getEvent,
  type InboxEvent,
  type InboxEventDetail,
  type ListEventsQuery,
  listEvents,
  parseRecordRef,
  type RecordRef,
  toEvent,
} from './events.js';
export type { AcceptedEvent } from './inbox.js';
export { createIngestor, type Ingestor, type IngestResult } from './ingest-webhook.js';
export {
  checkSchemeOptions,
  checkSecret,
  type SchemeName,
  schemes,
  standardWebhooksHeaders,
  type WebhookRequest,
} from './schemes/index.js';
