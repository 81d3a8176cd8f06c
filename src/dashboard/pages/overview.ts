import { z } from 'zod';
import { type Overview, type PreventedClass, readOverview } from '../../activity/index.js';
import type { Store } from '../../store/index.js';
import { barChart } from '../chart.js';
import { filterSelect, time } from '../format.js';
import { type Html, html } from '../html.js';
import { page } from '../layout.js';
import { type LiveCounters, readLiveCounters } from '../live.js';
import type { Ui } from '../plumbing.js';

const HOUR = 3_600_000;
/** Each window with the width of its chart's bars. */
const WINDOWS = {
  '1h': { span: HOUR, bucket: 60_000 },
  '24h': { span: 24 * HOUR, bucket: HOUR },
  '7d': { span: 7 * 24 * HOUR, bucket: 6 * HOUR },
} as const;
type WindowName = keyof typeof WINDOWS;

const query = z.object({ window: z.enum(['1h', '24h', '7d']).catch('24h') });

/** What each prevented class means to someone who runs support, not the code. */
const PREVENTED_LABELS: Record<PreventedClass, string> = {
  duplicate_webhook: 'Webhooks sent twice, handled once',
  duplicate: 'Proposals repeated, executed once',
  stale: 'Writes on outdated data (event races)',
  wrong_record: 'Writes to a record that does not exist',
  not_permitted: 'Operations the agent may not do',
  loop: 'Agents not re-triggered by their own writes',
};

/** `/ui`: the last hour, day or week across webhooks, actions and systems, on one page. */
export function registerOverviewPage(ui: Ui, deps: { store: Store; now: () => number }): void {
  ui.view<{ window?: string }>('/', 'viewer', async (request, context) => {
    const { window } = query.parse(request.query ?? {});
    const { span, bucket } = WINDOWS[window];
    const until = deps.now();
    // Buckets aligned to their width, so a reload does not shift every bar.
    const since = Math.floor((until - span) / bucket) * bucket;
    const overview = await readOverview(deps.store, { since, until, bucketMs: bucket });
    const live = await readLiveCounters(deps.store, overview.queues);
    return page(context, 'Overview', overviewView(window, overview, live, bucket));
  });
}

function overviewView(
  window: WindowName,
  overview: Overview,
  live: LiveCounters,
  bucket: number,
): Html {
  const { queues, actions, webhooks } = overview;
  const outcome = actions.byOutcome;
  const received = webhooks.bySource.reduce((sum, s) => sum + s.received, 0);
  const duplicates = webhooks.bySource.reduce((sum, s) => sum + s.duplicates, 0);
  const rejected = webhooks.rejected.reduce((sum, s) => sum + s.count, 0);
  const prevented = overview.prevented.reduce((sum, p) => sum + p.count, 0);
  const labels = overview.series.map((point) => label(point.at, bucket));
  const tile = (name: string, value: number, live?: string, tone = '') =>
    html`<div class="tile ${tone}"><div class="label">${name}</div>
      <div class="value"${live ? html` data-live="${live}"` : ''}>${value}</div></div>`;
  return html`<form method="get" class="filters">
      ${filterSelect(
        'window',
        'Window',
        Object.keys(WINDOWS).map((name) => [name, `last ${name}`] as const),
        window,
        false,
      )}
      <button type="submit">Show</button>
    </form>
    <div class="tiles">
      ${tile('Pending approvals', queues.approvalsPending, 'approvalsPending', queues.approvalsPending ? 'bad' : '')}
      ${tile('Actions executed', outcome.executed)}
      ${tile('Wrong writes prevented', prevented, undefined, 'good')}
      ${tile('Webhooks received', received)}
      ${tile('Actions failed or dead now', live.actionsFailed, 'actionsFailed', live.actionsFailed ? 'bad' : '')}
      ${tile('Undelivered events now', queues.deliveriesDead, 'deliveriesDead', queues.deliveriesDead ? 'bad' : '')}
    </div>
    <div class="charts">
      <section class="panel" aria-labelledby="webhooks-over-time">
        <h2 id="webhooks-over-time">Webhooks over time</h2>
          ${barChart('Webhooks', labels, [
            { name: 'received', colour: 'a', values: overview.series.map((p) => p.received) },
            {
              name: 'duplicates dropped',
              colour: 'b',
              values: overview.series.map((p) => p.duplicates),
            },
            { name: 'rejected', colour: 'c', values: overview.series.map((p) => p.rejected) },
          ])}
      </section>
      <section class="panel" aria-labelledby="actions-over-time">
        <h2 id="actions-over-time">Actions over time</h2>
        ${barChart('Actions', labels, [
          { name: 'executed', colour: 'd', values: overview.series.map((p) => p.executed) },
          { name: 'refused', colour: 'b', values: overview.series.map((p) => p.refused) },
          { name: 'failed', colour: 'c', values: overview.series.map((p) => p.failed) },
        ])}
      </section>
    </div>
    <div class="panels">
      <section class="panel" aria-labelledby="webhooks">
        <h2 id="webhooks">Webhooks</h2>
        <table><thead><tr><th scope="col">Source</th><th scope="col">Received</th><th scope="col">Duplicates dropped</th></tr></thead>
          <tbody>${webhooks.bySource.map(
            (s) =>
              html`<tr><td>${s.source}</td><td>${s.received}</td><td>${s.duplicates}</td></tr>`,
          )}</tbody></table>
        ${
          webhooks.rejected.length
            ? html`<h3>Rejected (${rejected})</h3><table><thead><tr><th scope="col">Source</th><th scope="col">Reason</th><th scope="col">Count</th></tr></thead>
            <tbody>${webhooks.rejected.map(
              (r) => html`<tr><td>${r.source}</td><td>${r.reason}</td><td>${r.count}</td></tr>`,
            )}</tbody></table>`
            : html`<p class="hint">No webhook was rejected.</p>`
        }
        <p class="hint">${duplicates} duplicate deliveries dropped in all.</p>
      </section>
      <section class="panel" aria-labelledby="actions">
        <h2 id="actions">Actions</h2>
        <table><thead><tr><th scope="col">Outcome</th><th scope="col">Actions</th></tr></thead><tbody>
          ${(
            [
              ['executed', 'executed'],
              ['refused as stale', 'stale'],
              ['denied by policy', 'denied'],
              ['pending approval', 'pending_approval'],
              ['rejected by a person', 'rejected'],
              ['approval expired', 'expired'],
              ['failed', 'failed'],
              ['dead-lettered', 'dead'],
              ['queued', 'queued'],
              ['executing', 'executing'],
            ] as const
          ).map(
            ([name, status]) =>
              html`<tr><td><a href="/ui/actions?status=${status}">${name}</a></td><td>${outcome[status]}</td></tr>`,
          )}
        </tbody></table>
      </section>
      <section class="panel" aria-labelledby="prevented">
        <h2 id="prevented">Wrong writes prevented</h2>
        <table><tbody>${overview.prevented.map(
          (p) => html`<tr><td>${PREVENTED_LABELS[p.kind]}</td><td>${p.count}</td></tr>`,
        )}</tbody></table>
      </section>
      <section class="panel" aria-labelledby="queues">
        <h2 id="queues">Waiting now</h2>
        <table><thead><tr><th scope="col">Queue</th><th scope="col">Items</th><th scope="col">Oldest since</th></tr></thead><tbody>
          <tr><td>Actions queued</td><td>${queues.actionsQueued}</td><td>${time(queues.oldestQueuedAt)}</td></tr>
          <tr><td>Actions executing</td><td>${queues.actionsExecuting}</td><td></td></tr>
          <tr><td><a href="/ui/approvals">Approvals pending</a></td><td>${queues.approvalsPending}</td><td>${time(queues.oldestApprovalAt)}</td></tr>
          <tr><td>Events waiting for agents</td><td>${queues.deliveriesPending}</td><td>${time(queues.oldestDeliveryAt)}</td></tr>
          <tr><td><a href="/ui/errors?system=webhooks&amp;since=all">Events given up on</a></td><td>${queues.deliveriesDead}</td><td></td></tr>
        </tbody></table>
      </section>
      <section class="panel" aria-labelledby="connectors">
        <h2 id="connectors">Connector errors</h2>
        ${
          overview.connectorErrors.length
            ? html`<table><thead><tr><th scope="col">System</th><th scope="col">Status</th><th scope="col">Calls</th></tr></thead><tbody>
              ${overview.connectorErrors.map(
                (e) =>
                  html`<tr><td><a href="/ui/errors?system=${encodeURIComponent(e.system)}&amp;since=${window}">${e.system}</a></td><td>${e.status}</td><td>${e.count}</td></tr>`,
              )}</tbody></table>`
            : html`<p class="hint">Every call to a system answered.</p>`
        }
      </section>
    </div>`;
}

/** A bucket's start as a short label: the time for hours, the day and hour for a week. */
function label(at: number, bucket: number): string {
  const iso = new Date(at).toISOString();
  return bucket >= HOUR ? `${iso.slice(5, 10)} ${iso.slice(11, 16)}` : iso.slice(11, 16);
}
