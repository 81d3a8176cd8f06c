import { isDeepStrictEqual } from 'node:util';
import { AppError, describeIssues } from '../errors.js';
import type { ActionRow } from './action-view.js';
import { catalogue } from './catalogue.js';
import { actionOfKey, peekKey } from './idempotency.js';
import type { Proposal } from './proposal.js';
import {
  answerFromKey,
  type ProposalAnswer,
  type ProposeDeps,
  proposeAction,
} from './propose-action.js';

/** The agent name undos are proposed under; its keys (`undo:<action id>`) make an undo once. */
export const UNDO_AGENT = 'airlock-undo';

/**
 * Undoes an executed, reversible action by proposing its inverse through the same pipeline:
 * policy runs, and the basis is the revision the original write left, so a record changed
 * since is refused as stale (409) rather than overwritten. Proposed by `UNDO_AGENT` with the
 * key `undo:<id>`: asking twice replays the first undo, whoever asks. The decision names the
 * original (`context.undoOf`) and who asked first, which links the two in the trace. Throws
 * `action-not-found` (404) or `not-undoable` (409): not reversible, not executed, or the state
 * before it is not known, which is never guessed.
 */
export async function undoAction(
  deps: ProposeDeps,
  id: string,
  by: string,
): Promise<ProposalAnswer> {
  const row = await deps.store.db
    .selectFrom('actions')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row)
    throw new AppError('action-not-found', 404, `no action ${id}`, { details: { action: id } });
  const plan = undoPlan(row);
  const answer = await proposeUndo(deps, row, plan, by);
  // Another admin's undo took the key between this one's look for it and its proposal: its
  // decision names the other admin, so this request differs from it. Asked again, it finds that
  // undo and answers as it does (in flight, or its outcome).
  if (answer.kind === 'error' && answer.error.code === 'idempotency-key-reuse') {
    return proposeUndo(deps, row, plan, by);
  }
  return answer;
}

async function proposeUndo(
  deps: ProposeDeps,
  row: ActionRow,
  { inverse, revision }: ReturnType<typeof undoPlan>,
  by: string,
): Promise<ProposalAnswer> {
  const id = row.id;
  const key = `undo:${id}`;
  const first = await firstUndoDecision(deps, key);
  if (!first) {
    // Refused for whoever asked first (stale, denied): that answer stands for anyone.
    const ref = { agent: UNDO_AGENT, key };
    const held = await peekKey(deps.store.db, { ref, fingerprint: null, now: deps.now() });
    if (held?.kind === 'replay') return answerFromKey(deps, ref, held);
  }
  return proposeAction(deps, { name: UNDO_AGENT, operations: [inverse.operation] }, key, {
    operation: inverse.operation,
    target: JSON.parse(row.target),
    params: inverse.params,
    basis: { revision },
    // Whoever asks later gets the first undo replayed: its request names the first asker.
    decision: first ?? {
      model: 'airlock',
      summary: `undo of ${id} (${row.operation}), asked by ${by}`,
      context: { undoOf: id, by },
    },
  });
}

/** The decision of the undo accepted under `key`, if one was. */
async function firstUndoDecision(deps: ProposeDeps, key: string) {
  const first = await actionOfKey(deps.store.db, { agent: UNDO_AGENT, key });
  return first?.decision ? (JSON.parse(first.decision) as Proposal['decision']) : undefined;
}

/** The inverse of an executed action and the revision its write left; `not-undoable` if none. */
function undoPlan(row: ActionRow) {
  const refuse = (why: string) =>
    new AppError('not-undoable', 409, `action ${row.id} cannot be undone: ${why}`, {
      details: { action: row.id, operation: row.operation, status: row.status },
    });
  const spec = catalogue.get(row.operation);
  if (!spec?.reversible || !spec.inverse) throw refuse(`${row.operation} is not reversible`);
  if (row.status !== 'executed') throw refuse(`it is ${row.status}, not executed`);
  const effect = row.effect
    ? (JSON.parse(row.effect) as {
        before: Record<string, unknown> | null;
        after: Record<string, unknown> | null;
        revision: string;
      })
    : null;
  if (!effect) throw refuse('its effect was not recorded');
  if (effect.before && isDeepStrictEqual(effect.before, effect.after)) {
    throw refuse('it changed nothing (the record already was as it asked)');
  }
  const inverse = spec.inverse(JSON.parse(row.params), effect.before);
  if (!inverse) {
    throw refuse(
      'the state before it is unknown (its write was confirmed by reconcile, which sees only the state after)',
    );
  }
  // What the operation cannot write (a deal's stage back to none) is refused here, not proposed
  // and refused as invalid params under the undo's key for good.
  const checked = catalogue.get(inverse.operation)?.params.safeParse(inverse.params);
  if (!checked?.success) {
    const problems = checked ? describeIssues(checked.error.issues, 'params') : [];
    throw refuse(
      `${inverse.operation} cannot put back the state before it (${JSON.stringify(effect.before)}): ${problems.join('; ')}`,
    );
  }
  return { inverse, revision: effect.revision };
}
