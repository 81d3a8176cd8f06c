import { z } from 'zod';
import { type ErrorItem, type ErrorKind, listErrors } from '../../activity/index.js';
import type { Config } from '../../config.js';
import type { Store } from '../../store/index.js';
import { filterSelect, time, traceLink } from '../format.js';
import { type Html, html } from '../html.js';
import { type PageContext, page } from '../layout.js';
import type { Ui } from '../plumbing.js';
import { adminButton } from './admin-forms.js';

const HOUR = 3_600_000;
/** How far back the list looks; `all`: as far as anything is kept. */
const SINCE = { '1h': HOUR, '24h': 24 * HOUR, '7d': 7 * 24 * HOUR, all: null } as const;

const query = z.object({
  system: z.string().trim().max(200).catch(''),
  since: z.enum(['1h', '24h', '7d', 'all']).catch('24h'),
});

const KIND_LABELS: Record<ErrorKind, string> = {
  action_failed: 'Action failed',
  action_dead: 'Action dead-lettered',
  delivery_dead: 'Event undelivered',
  webhook_rejected: 'Webhook rejected',
  connector_error: 'Connector error',
};

/**
 * `/ui/errors`: everything that went wrong across the systems and the webhooks, in one list,
 * newest first; admins repair from here through the same paths as the CLI.
 */
export function registerErrorsPage(
  ui: Ui,
  deps: { store: Store; config: Pick<Config, 'connectors'>; now: () => number },
): void {
  ui.view<Record<string, string>>('/errors', 'viewer', async (request, context) => {
    const filter = query.parse(request.query ?? {});
    const span = SINCE[filter.since];
    const items = await listErrors(deps.store, {
      system: filter.system || undefined,
      since: span === null ? undefined : deps.now() - span,
      limit: 500,
    });
    const systems = [...Object.keys(deps.config.connectors), 'webhooks'];
    return page(
      context,
      'Errors',
      html`<form method="get" class="filters">
          ${filterSelect('system', 'System', systems, filter.system)}
          ${filterSelect(
            'since',
            'Since',
            Object.keys(SINCE).map(
              (since) => [since, since === 'all' ? 'all kept' : `last ${since}`] as const,
            ),
            filter.since,
            false,
          )}
          <button type="submit">Filter</button>
        </form>
        ${
          items.length === 0
            ? html`<p class="empty">Nothing went wrong in this window.</p>`
            : html`<table>
            <caption class="visually-hidden">Errors, newest first</caption>
            <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">System</th>
              <th scope="col">Details</th><th scope="col">Count</th><th scope="col"><span class="visually-hidden">Do</span></th></tr></thead>
            <tbody>${items.map((item) => errorRow(context, item))}</tbody>
          </table>`
        }`,
    );
  });
}

function errorRow(context: PageContext, item: ErrorItem): Html {
  const { action, event, delivery, agent } = item.ids;
  const subject = action ?? event;
  return html`<tr data-kind="${item.kind}">
    <td>${time(item.at)}</td>
    <td>${KIND_LABELS[item.kind]}</td>
    <td>${item.system}</td>
    <td>${item.summary}${subject ? html` · ${traceLink(subject, 'Trace')}` : ''}</td>
    <td>${item.count}</td>
    <td>${
      action
        ? adminButton(context, `/ui/actions/${action}/retry`, 'Retry')
        : delivery
          ? adminButton(
              context,
              `/ui/events/${delivery}/redeliver`,
              'Redeliver',
              agent ? { agent } : {},
            )
          : ''
    }</td>
  </tr>`;
}
