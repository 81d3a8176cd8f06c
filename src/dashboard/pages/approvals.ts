import { z } from 'zod';
import { catalogue } from '../../actions/catalogue.js';
import type { ProposeDeps } from '../../actions/index.js';
import type { FieldChange } from '../../approvals/field-changes.js';
import {
  APPROVAL_STATUSES,
  type ApprovalDeps,
  type ApprovalView,
  approveApproval,
  getApproval,
  listApprovals,
  rejectApproval,
} from '../../approvals/index.js';
import type { RecordRef } from '../../connectors/connector.js';
import { readRecordView } from '../../dispatch/record-view.js';
import { parseInput } from '../../http/input.js';
import { hasRole } from '../../http/operator-auth.js';
import type { ApprovalStatus } from '../../store/index.js';
import { type TraceAction, traceOf } from '../../trace/index.js';
import { formText } from '../form-fields.js';
import { badge, filterSelect, json, recordText, sentence, time, traceLink } from '../format.js';
import { type Html, html } from '../html.js';
import { csrfField, type PageContext, page } from '../layout.js';
import { readApprovalsVersion } from '../live.js';
import type { Ui } from '../plumbing.js';
import { olderLink } from './paging.js';

const listQuery = z.object({
  status: z.enum(['all', ...APPROVAL_STATUSES]).catch('pending'),
  cursor: z.string().trim().max(200).optional().catch(undefined),
});

const decisionForm = z.object({ comment: formText(2000) });

/** `/ui/approvals`: the queue, and each approval beside the record as it is now. */
export function registerApprovalPages(
  ui: Ui,
  deps: { approvals: ApprovalDeps; propose: ProposeDeps },
): void {
  ui.view<{ status?: string; cursor?: string }>(
    '/approvals',
    'viewer',
    async (request, context) => {
      const { status, cursor } = listQuery.parse(request.query ?? {});
      // Pending ones are a queue: the longest waiting first. Decided ones: the latest first.
      const pending = status === 'pending';
      const { approvals, next } = await listApprovals(deps.approvals, {
        status: status === 'all' ? undefined : (status as ApprovalStatus),
        limit: 100,
        cursor: cursor || undefined,
        newestFirst: !pending,
      });
      const approvalsVersion = await readApprovalsVersion(deps.approvals.store);
      return page(
        context,
        'Approvals',
        html`${approvalList(status, approvals, approvalsVersion, pending)}
        ${olderLink(request.url, next, pending ? 'Newer' : 'Older')}`,
      );
    },
  );

  ui.view<unknown, { id: string }>('/approvals/:id', 'viewer', async (request, context) => {
    const approval = await getApproval(deps.approvals, request.params.id);
    const trace = await traceOf(deps.approvals.store, approval.approval);
    const action = trace.actions.find((each) => each.id === approval.action);
    return page(
      context,
      `Approval ${approval.approval}`,
      await approvalDetail(deps, context, approval, action),
    );
  });

  for (const [verb, decide] of [
    ['approve', approveApproval],
    ['reject', rejectApproval],
  ] as const) {
    ui.form<{ id: string }>(
      `/approvals/:id/${verb}`,
      'approver',
      (request) => `/ui/approvals/${encodeURIComponent(request.params.id)}`,
      async (request, operator) => {
        const { comment } = parseInput(decisionForm, request.body ?? {}, 'body');
        const { id } = request.params;
        const decided = await decide(deps.approvals, id, { by: operator.name, comment });
        // The page after an approval should show the write's outcome, which comes a moment later.
        if (decided.status === 'approved') {
          await deps.propose.worker.waitForSettled(decided.action, deps.propose.waitMs);
        }
        return {
          to: `/ui/approvals/${encodeURIComponent(id)}`,
          flash: { kind: 'status', text: `Approval ${id} is ${decided.status}.` },
        };
      },
    );
  }
}

function approvalList(
  status: string,
  approvals: ApprovalView[],
  version: string,
  oldestFirst: boolean,
): Html {
  return html`<form method="get" class="filters">
      ${filterSelect('status', 'Status', [...APPROVAL_STATUSES, 'all'], status, false)}
      <button type="submit">Show</button>
    </form>
    <div id="approvals-list" data-live-reload="approvalsVersion" data-version="${version}">
      ${
        approvals.length === 0
          ? html`<p class="empty">No ${status === 'all' ? '' : status} approvals.</p>`
          : html`<table>
          <caption class="visually-hidden">Approvals, ${oldestFirst ? 'the longest waiting first' : 'newest first'}</caption>
          <thead><tr><th scope="col">Operation</th><th scope="col">Record</th><th scope="col">Agent</th>
            <th scope="col">Why a human</th><th scope="col">Status</th><th scope="col">Requested</th><th scope="col">Expires</th></tr></thead>
          <tbody>
            ${approvals.map(
              (approval) => html`<tr data-approval-id="${approval.approval}">
                <td><a href="/ui/approvals/${approval.approval}">${approval.operation}</a></td>
                <td>${recordText(approval.target)}</td>
                <td>${approval.agent}</td>
                <td>${approval.reason}</td>
                <td>${badge(approval.status)}</td>
                <td>${time(approval.createdAt)}</td>
                <td>${time(approval.expiresAt)}</td>
              </tr>`,
            )}
          </tbody>
        </table>`
      }
    </div>`;
}

async function approvalDetail(
  deps: { approvals: ApprovalDeps; propose: ProposeDeps },
  context: PageContext,
  approval: ApprovalView,
  action: TraceAction | undefined,
): Promise<Html> {
  const target = approval.target as RecordRef;
  const params = (action?.proposal.params ?? {}) as Record<string, unknown>;
  const spec = catalogue.get(approval.operation);
  // As assessed on the record the proposal read; older actions' verdicts do not say.
  const risk =
    action?.verdict?.risk ?? (spec ? spec.risk(params, deps.propose.limits, null) : 'unknown');
  const canDecide = hasRole(context.operator, 'approver') && approval.status === 'pending';
  return html`<dl class="facts">
      <dt>Status</dt><dd data-field="approval-status">${approval.status}</dd>
      <dt>Action</dt><dd>${traceLink(approval.action)}</dd>
      <dt>Action status</dt><dd data-field="action-status">${action?.status ?? 'unknown'}</dd>
      <dt>Operation</dt><dd>${approval.operation} <span class="risk risk-${risk}">${risk} risk</span></dd>
      <dt>Record</dt><dd>${traceLink(recordText(target))}</dd>
      <dt>Agent</dt><dd>${approval.agent}</dd>
      <dt>Why a human</dt><dd>${approval.reason}</dd>
      <dt>Requested</dt><dd>${time(approval.createdAt)}</dd>
      <dt>Expires</dt><dd>${time(approval.expiresAt)}</dd>
      ${approval.decidedBy ? html`<dt>Decided by</dt><dd>${approval.decidedBy}, ${time(approval.decidedAt)}</dd>` : ''}
      ${approval.comment ? html`<dt>Comment</dt><dd>${approval.comment}</dd>` : ''}
    </dl>
    ${outcomeSection(approval)}
    <section aria-labelledby="decision">
      <h2 id="decision">The agent's decision</h2>
      ${
        action?.decision
          ? html`<p>${action.decision.summary ?? 'No summary given.'}</p>
            ${action.decision.model ? html`<p class="hint">Model: ${action.decision.model}</p>` : ''}
            ${action.decision.context ? html`<h3>Context it states</h3>${json(action.decision.context)}` : ''}`
          : html`<p class="empty">The agent said nothing about its decision.</p>`
      }
    </section>
    <div class="columns">
      <section aria-labelledby="change">
        <h2 id="change">What the action would do</h2>
        ${paramsTable(params)}
      </section>
      <section aria-labelledby="now">
        <h2 id="now">The record now</h2>
        ${await recordNow(deps.propose, target, Object.keys(params), approval)}
      </section>
    </div>
    ${
      canDecide
        ? html`<form method="post" class="decide stack">
            ${csrfField(context.csrf)}
            <label for="comment">Comment</label>
            <textarea id="comment" name="comment" rows="3" maxlength="2000"></textarea>
            <div class="buttons">
              <button type="submit" formaction="/ui/approvals/${approval.approval}/approve" class="primary">Approve</button>
              <button type="submit" formaction="/ui/approvals/${approval.approval}/reject" class="danger">Reject</button>
            </div>
            <p class="hint">Approving checks the record again: if it changed since the agent decided, nothing is executed.</p>
          </form>`
        : ''
    }`;
}

/** For an approval that ended without executing: why, and for a stale one what changed. */
function outcomeSection(approval: ApprovalView): Html {
  if (approval.status === 'expired') {
    return html`<p class="flash alert">No one decided before ${time(approval.expiresAt)}: the approval expired and nothing was executed.</p>`;
  }
  if (approval.status !== 'stale') return html``;
  const outcome = (approval.outcome ?? {}) as {
    message?: string;
    changed?: FieldChange[];
    basisRevision?: string | null;
    currentRevision?: string;
    eventsSince?: { event: string; type: string | null; receivedAt: string }[];
  };
  return html`<section aria-labelledby="what-changed" class="changed">
    <h2 id="what-changed">What changed</h2>
    <p>${sentence(outcome.message ?? 'the record moved on before the approval')} Nothing was executed.</p>
    ${
      outcome.changed?.length
        ? html`<table>
        <thead><tr><th scope="col">Field</th><th scope="col">When asked</th><th scope="col">When approved</th></tr></thead>
        <tbody>${outcome.changed.map(
          (change) =>
            html`<tr><th scope="row">${change.field}</th><td>${json(change.was)}</td><td>${json(change.now)}</td></tr>`,
        )}</tbody></table>`
        : ''
    }
    ${
      outcome.eventsSince?.length
        ? html`<h3>Events about the record since</h3><ul>${outcome.eventsSince.map(
            (event) =>
              html`<li>${traceLink(event.event)} ${event.type ?? ''} ${time(event.receivedAt)}</li>`,
          )}</ul>`
        : ''
    }
  </section>`;
}

function paramsTable(params: Record<string, unknown>): Html {
  const entries = Object.entries(params);
  if (entries.length === 0) return html`<p class="empty">No parameters.</p>`;
  return html`<table class="fields"><tbody>${entries.map(
    ([name, value]) => html`<tr><th scope="row">${name}</th><td>${json(value)}</td></tr>`,
  )}</tbody></table>`;
}

/** The record read through its connector now; the fields the params name are marked. */
async function recordNow(
  deps: ProposeDeps,
  target: RecordRef,
  named: string[],
  approval: ApprovalView,
): Promise<Html> {
  let fields: Record<string, unknown>;
  let revision: string;
  try {
    const view = await readRecordView(deps.connectors, target, deps.now());
    fields = view.fields;
    revision = view.revision;
  } catch (error) {
    return html`<p class="flash alert" role="alert">The record could not be read: ${(error as Error).message}</p>`;
  }
  const touched = new Set(named);
  const moved =
    approval.status === 'pending' &&
    approval.basisRevision !== null &&
    approval.basisRevision !== revision;
  return html`${
    moved
      ? html`<p class="flash alert">The record is at revision ${revision}; the agent decided on
          revision ${approval.basisRevision}. Approving will find it stale and execute nothing.</p>`
      : html`<p class="hint">Revision ${revision}${
          approval.basisRevision === revision ? ', the one the agent decided on' : ''
        }</p>`
  }
    <table class="fields"><tbody>${Object.entries(fields).map(
      ([name, value]) =>
        html`<tr${touched.has(name) ? html` class="touched"` : ''}><th scope="row">${name}</th><td>${json(value)}</td></tr>`,
    )}</tbody></table>`;
}
