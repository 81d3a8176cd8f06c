import { z } from 'zod';
import { type ProposeDeps, rateLimitRules, undoAction } from '../../actions/index.js';
import type { Config } from '../../config.js';
import type { Dispatcher } from '../../dispatch/dispatcher.js';
import { parseInput } from '../../http/input.js';
import { hasRole } from '../../http/operator-auth.js';
import { formText } from '../form-fields.js';
import { type Html, html } from '../html.js';
import { csrfField, type PageContext } from '../layout.js';
import { backFrom, type Ui } from '../plumbing.js';

const redeliverForm = z.object({ agent: formText(200) });

/**
 * The admins' repairs: retry a failed or dead action, undo an executed one, redeliver an event
 * to an agent. Each goes through the same function the CLI and HTTP API call, which checks again
 * whatever it must (policy, the basis, the record) before anything is written.
 */
export function registerAdminForms(
  ui: Ui,
  deps: { propose: ProposeDeps; dispatcher: Dispatcher; config: Pick<Config, 'rateLimits'> },
): void {
  const rules = rateLimitRules(deps.config.rateLimits);
  ui.form<{ id: string }>('/actions/:id/retry', 'admin', backFrom, async (request, operator) => {
    const action = await deps.propose.ops.run('retryAction', {
      id: request.params.id,
      now: deps.propose.now(),
      rateLimits: rules,
      by: operator.name,
      dialect: deps.propose.store.dialect,
    });
    deps.propose.worker.notify();
    return {
      to: backFrom(request),
      flash: { kind: 'status', text: `Action ${action.action} is ${action.status} again.` },
    };
  });

  ui.form<{ id: string }>('/actions/:id/undo', 'admin', backFrom, async (request, operator) => {
    const answer = await undoAction(deps.propose, request.params.id, operator.name);
    if (answer.kind === 'error') throw answer.error;
    const body = answer.body as { action?: string; status?: string };
    return {
      to: backFrom(request),
      flash: {
        kind: 'status',
        text: `The undo of ${request.params.id} is ${body.status ?? 'accepted'} (${body.action ?? ''}).`,
      },
    };
  });

  ui.form<{ id: string }>('/events/:id/redeliver', 'admin', backFrom, async (request) => {
    const { agent } = parseInput(redeliverForm, request.body ?? {}, 'body');
    const requeued = await deps.dispatcher.redeliver(request.params.id, agent ?? null);
    const to = requeued.map((each) => each.agent).join(', ');
    return {
      to: backFrom(request),
      flash: { kind: 'status', text: `Queued for delivery again to ${to}.` },
    };
  });
}

/** A one-button form posting to `action`, shown to admins only. */
export function adminButton(
  context: PageContext,
  action: string,
  label: string,
  fields: Record<string, string> = {},
): Html {
  if (!hasRole(context.operator, 'admin')) return html``;
  return html`<form method="post" action="${action}" class="inline">
    ${csrfField(context.csrf)}
    <input type="hidden" name="back" value="${context.url}">
    ${Object.entries(fields).map(
      ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
    )}
    <button type="submit">${label}</button>
  </form>`;
}
