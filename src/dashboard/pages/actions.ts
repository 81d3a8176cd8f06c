import { z } from 'zod';
import { catalogue } from '../../actions/catalogue.js';
import { ACTION_STATUSES, listActions } from '../../actions/index.js';
import type { Config } from '../../config.js';
import type { Store } from '../../store/index.js';
import { badge, filterSelect, recordText, time, traceLink } from '../format.js';
import { html } from '../html.js';
import { page } from '../layout.js';
import type { Ui } from '../plumbing.js';
import { adminButton } from './admin-forms.js';
import { olderLink } from './paging.js';

const query = z.object({
  status: z.enum(['', ...ACTION_STATUSES]).catch(''),
  agent: z.string().trim().max(200).catch(''),
  system: z.string().trim().max(200).catch(''),
  cursor: z.string().trim().max(200).optional().catch(undefined),
});

/** `/ui/actions`: what agents proposed, newest first, each opening its trace. */
export function registerActionsPage(
  ui: Ui,
  deps: { store: Store; config: Pick<Config, 'agents' | 'connectors'> },
): void {
  ui.view<Record<string, string>>('/actions', 'viewer', async (request, context) => {
    const filter = query.parse(request.query ?? {});
    const { items, next } = await listActions(deps.store, {
      status: filter.status ? [filter.status] : undefined,
      agent: filter.agent || undefined,
      system: filter.system || undefined,
      cursor: filter.cursor || undefined,
      limit: 100,
    });
    return page(
      context,
      'Actions',
      html`<form method="get" class="filters">
          ${filterSelect('status', 'Status', ACTION_STATUSES, filter.status)}
          ${filterSelect('agent', 'Agent', Object.keys(deps.config.agents), filter.agent)}
          ${filterSelect('system', 'System', Object.keys(deps.config.connectors), filter.system)}
          <button type="submit">Filter</button>
        </form>
        ${
          items.length === 0
            ? html`<p class="empty">No actions.</p>`
            : html`<table>
            <caption class="visually-hidden">Actions, newest first</caption>
            <thead><tr><th scope="col">Proposed</th><th scope="col">Operation</th><th scope="col">Record</th>
              <th scope="col">Agent</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col"><span class="visually-hidden">Do</span></th></tr></thead>
            <tbody>${items.map(
              (action) => html`<tr data-action-id="${action.action}" data-status="${action.status}">
                <td>${time(action.createdAt)}</td>
                <td>${traceLink(action.action, action.operation)}</td>
                <td>${traceLink(recordText(action.target))}</td>
                <td>${action.agent}</td>
                <td>${badge(action.status)}</td>
                <td>${action.attempts}</td>
                <td>${
                  action.status === 'failed' || action.status === 'dead'
                    ? adminButton(context, `/ui/actions/${action.action}/retry`, 'Retry')
                    : action.status === 'executed' && catalogue.get(action.operation)?.reversible
                      ? adminButton(context, `/ui/actions/${action.action}/undo`, 'Undo')
                      : ''
                }</td>
              </tr>`,
            )}</tbody>
          </table>`
        }
        ${olderLink(request.url, next)}`,
    );
  });
}
