import type { EventPage, InboxEvent, InboxEventDetail } from '../ingest/index.js';
import { alignedTable } from './table.js';

/** A page of events as aligned text lines, and the command for the next page. */
export function printEventPage(page: EventPage): string {
  if (page.events.length === 0) return 'no events\n';
  const rows = page.events.map((event) => [
    event.id,
    event.receivedAt,
    event.source,
    event.type ?? '-',
    recordText(event),
    event.duplicates > 0 ? `${event.duplicates} dup` : '',
  ]);
  return alignedTable(rows, page.nextCursor);
}

/** One event in full. */
export function printEvent(event: InboxEventDetail): string {
  const lines = [
    `event        ${event.id}`,
    `source       ${event.source} (provider id ${event.providerEventId})`,
    `type         ${event.type ?? '-'}`,
    `record       ${recordText(event)}`,
    `occurred at  ${event.occurredAt ?? '-'}`,
    `received at  ${event.receivedAt}`,
    `duplicates   ${event.duplicates}${event.lastDuplicateAt ? ` (last ${event.lastDuplicateAt})` : ''}`,
    `request      ${event.requestId}${event.itemIndex === null ? '' : ` item ${event.itemIndex}`}`,
    'payload',
    JSON.stringify(event.payload, null, 2),
  ];
  return `${lines.join('\n')}\n`;
}

function recordText(event: InboxEvent): string {
  return event.record ? `${event.record.system}:${event.record.type}:${event.record.id}` : '-';
}
