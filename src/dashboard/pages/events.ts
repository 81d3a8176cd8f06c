import { z } from 'zod';
import type { Config } from '../../config.js';
import { AppError } from '../../errors.js';
import { listEvents, parseRecordRef, type RecordRef } from '../../ingest/index.js';
import type { Store } from '../../store/index.js';
import { filterSelect, recordText, sentence, time, traceLink } from '../format.js';
import { html } from '../html.js';
import { page } from '../layout.js';
import type { Ui } from '../plumbing.js';
import { olderLink } from './paging.js';

const query = z.object({
  source: z.string().trim().max(200).catch(''),
  record: z.string().trim().catch(''),
  cursor: z.string().trim().max(200).optional().catch(undefined),
});

/** `/ui/events`: the webhook inbox, newest first, each event opening its trace. */
export function registerEventsPage(
  ui: Ui,
  deps: { store: Store; config: Pick<Config, 'sources'> },
): void {
  ui.view<Record<string, string>>('/events', 'viewer', async (request, context) => {
    const filter = query.parse(request.query ?? {});
    let record: RecordRef | undefined;
    let problem: string | null = null;
    try {
      record = filter.record ? parseRecordRef(filter.record) : undefined;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      problem = error.message;
    }
    const { events, nextCursor } = problem
      ? { events: [], nextCursor: null }
      : await listEvents(deps.store, {
          source: filter.source || undefined,
          record,
          cursor: filter.cursor || undefined,
          limit: 100,
        });
    const sources = Object.keys(deps.config.sources);
    return page(
      context,
      'Events',
      html`<form method="get" class="filters">
          ${filterSelect('source', 'Source', sources, filter.source)}
          <label for="record">Record</label>
          <input id="record" name="record" value="${filter.record}" placeholder="system:type:id">
          <button type="submit">Filter</button>
        </form>
        ${problem ? html`<p class="flash alert" role="alert">${sentence(problem)}</p>` : ''}
        ${
          events.length === 0
            ? html`<p class="empty">No events.</p>`
            : html`<table>
            <caption class="visually-hidden">Webhook events, newest first</caption>
            <thead><tr><th scope="col">Received</th><th scope="col">Source</th><th scope="col">Type</th>
              <th scope="col">Provider's id</th><th scope="col">Record</th><th scope="col">Duplicates</th><th scope="col"><span class="visually-hidden">Trace</span></th></tr></thead>
            <tbody>${events.map(
              (event) => html`<tr data-event-id="${event.id}">
                <td>${time(event.receivedAt)}</td>
                <td>${event.source}</td>
                <td>${event.type ?? ''}</td>
                <td><code>${event.providerEventId}</code></td>
                <td>${event.record ? recordText(event.record) : ''}</td>
                <td>${event.duplicates || ''}</td>
                <td>${traceLink(event.id, 'Trace')}</td>
              </tr>`,
            )}</tbody>
          </table>`
        }
        ${olderLink(request.url, nextCursor)}`,
    );
  });
}
