import { z } from 'zod';
import { fieldChanges } from '../../approvals/field-changes.js';
import { AppError } from '../../errors.js';
import type { Store } from '../../store/index.js';
import { type Trace, type TraceAction, type TraceEvent, traceOf } from '../../trace/index.js';
import { badge, json, recordText, time, traceLink } from '../format.js';
import { type Html, html } from '../html.js';
import { page } from '../layout.js';
import type { Ui } from '../plumbing.js';

const query = z.object({ id: z.string().trim().catch('') });

const MAX_ID = 1000;

/** `/ui/trace?id=`: the `why` chain of any id, as a timeline with what each write changed. */
export function registerTracePage(ui: Ui, deps: { store: Store }): void {
  ui.view<{ id?: string }>('/trace', 'viewer', async (request, context) => {
    const { id } = query.parse(request.query ?? {});
    let found: Html = html``;
    if (id.length > MAX_ID) {
      found = html`<p class="flash alert" role="alert">An id is at most ${MAX_ID} characters; this one has ${id.length}.</p>`;
    } else if (id) {
      try {
        found = traceView(await traceOf(deps.store, id));
      } catch (error) {
        if (!(error instanceof AppError) || error.status !== 404) throw error;
        found = html`<p class="flash alert" role="alert">Nothing found for ${id}. Try an event id (evt_…),
          a provider's event id, an action id (act_…), an idempotency key, an approval id (apr_…) or a
          record as system:type:id.</p>`;
      }
    }
    return page(
      context,
      'Trace',
      html`<form method="get" class="search">
          <label for="trace-id">Any id</label>
          <input id="trace-id" name="id" value="${id}" size="60"
            placeholder="evt_…, act_…, apr_…, an idempotency key or system:type:id">
          <button type="submit">Find</button>
        </form>
        ${found}`,
    );
  });
}

function traceView(trace: Trace): Html {
  const onPage = new Set([...trace.actions.map((a) => a.id), ...trace.events.map((e) => e.id)]);
  return html`<p class="hint">Found as ${trace.query.kind.replace('-', ' ')}: ${trace.events.length} event(s),
      ${trace.actions.length} action(s).${trace.truncated ? ' Only the newest are shown.' : ''}</p>
    <ol aria-label="Timeline" class="timeline">
      ${trace.timeline.map(
        (step) => html`<li class="step step-${step.step.replaceAll(' ', '-')}">
          ${time(step.at)} <strong>${step.step}</strong> ${stepLink(step.subject, onPage)}
          <span class="summary">${step.summary}</span>
        </li>`,
      )}
    </ol>
    ${trace.actions.length ? html`<h2>Actions</h2>${trace.actions.map(actionCard)}` : ''}
    ${trace.events.length ? html`<h2>Events</h2>${trace.events.map(eventCard)}` : ''}`;
}

/** A step's subject: its card further down this page, an approval's page, or its own trace. */
function stepLink(subject: string, onPage: ReadonlySet<string>): Html {
  if (onPage.has(subject)) return html`<a href="#${subject}">${subject}</a>`;
  if (subject.startsWith('apr_')) return html`<a href="/ui/approvals/${subject}">${subject}</a>`;
  return traceLink(subject);
}

function actionCard(action: TraceAction): Html {
  const effect = action.execution.effect;
  return html`<article class="card" id="${action.id}" aria-label="Action ${action.id}">
    <h3>${action.proposal.operation} on ${traceLink(recordText(action.proposal.target))} ${badge(action.status)}</h3>
    <dl class="facts">
      <dt>Action</dt><dd>${action.id}</dd>
      <dt>Agent</dt><dd>${action.agent}</dd>
      <dt>Idempotency key</dt><dd><code>${action.idempotencyKey}</code></dd>
      <dt>Proposed</dt><dd>${time(action.createdAt)}</dd>
      <dt>Decided on</dt><dd>${
        action.proposal.basis
          ? html`revision ${action.proposal.basis.revision ?? 'none stated'}${
              action.proposal.basis.events.length
                ? html`, after ${action.proposal.basis.events.map((event) => html`${traceLink(event)} `)}`
                : ''
            }`
          : 'no basis stated'
      }</dd>
      ${action.decision?.summary ? html`<dt>Why, says the agent</dt><dd>${action.decision.summary}</dd>` : ''}
      ${action.verdict ? html`<dt>Policy</dt><dd>${action.verdict.kind}${action.verdict.rule ? html` by rule <code>${action.verdict.rule}</code>` : ''}: ${action.verdict.reason}</dd>` : ''}
      ${action.approval ? html`<dt>Approval</dt><dd><a href="/ui/approvals/${action.approval.id}">${action.approval.id}</a> ${badge(action.approval.status)}${action.approval.decidedBy ? ` by ${action.approval.decidedBy}` : ''}</dd>` : ''}
      <dt>Attempts</dt><dd>${action.execution.attempts}</dd>
      ${action.execution.error ? html`<dt>Error</dt><dd>${json(action.execution.error)}</dd>` : ''}
    </dl>
    <details><summary>Params</summary>${json(action.proposal.params)}</details>
    ${action.decision?.context ? html`<details><summary>Context the agent states</summary>${json(action.decision.context)}</details>` : ''}
    ${effect ? diff(effect.before, effect.after, effect.revision) : ''}
  </article>`;
}

/** What a write changed: each field before and after. */
function diff(
  before: Readonly<Record<string, unknown>> | null,
  after: Readonly<Record<string, unknown>>,
  revision: string,
): Html {
  const changes = fieldChanges(before ?? {}, after);
  return html`<table class="diff">
    <caption>What the write changed (revision ${revision} after)</caption>
    <thead><tr><th scope="col">Field</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
    <tbody>${changes.map(
      (change) =>
        html`<tr><th scope="row">${change.field}</th><td class="before">${json(change.was)}</td><td class="after">${json(change.now)}</td></tr>`,
    )}</tbody>
  </table>`;
}

function eventCard(event: TraceEvent): Html {
  return html`<article class="card" id="${event.id}" aria-label="Event ${event.id}">
    <h3>${event.type ?? 'event'} from ${event.source}${event.echoOf ? html` <span class="status">echo of ${traceLink(event.echoOf)}</span>` : ''}</h3>
    <dl class="facts">
      <dt>Event</dt><dd>${event.id}</dd>
      <dt>Provider's id</dt><dd><code>${event.providerEventId}</code></dd>
      <dt>Record</dt><dd>${event.record ? traceLink(recordText(event.record)) : 'none'}</dd>
      <dt>Received</dt><dd>${time(event.receivedAt)}</dd>
      ${event.duplicates ? html`<dt>Duplicates dropped</dt><dd>${event.duplicates}</dd>` : ''}
    </dl>
  </article>`;
}
