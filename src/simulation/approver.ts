import type { GroundTruth } from './model.js';

/**
 * The simulation's human approver: polls Airlock's pending approvals and decides each as a person
 * who reads the ticket would. It approves an `order.cancel` of the order of the customer whose
 * ticket asked to cancel it (the ticket the cancel's reason names, read from the action's trace
 * as the dashboard shows it), and rejects everything else: a cancel nobody asked for, a cancel of
 * another customer's order, any other high-risk write.
 */

export interface ApproverOptions {
  /** The gateway's base URL. */
  readonly gatewayUrl: string;
  /** An operator token with the `approver` (or `admin`) role. */
  readonly operatorToken: string;
  /** The truth as played so far: read at every decision, so cancels asked for later count. */
  readonly truth: () => Pick<GroundTruth, 'cancelRequested'>;
  /** Between polls, ms. Default 100. */
  readonly intervalMs?: number | undefined;
}

export interface ApproverStats {
  /** Polls made. */
  polls: number;
  approved: number;
  rejected: number;
  /** Approved, but Airlock found the record moved on (409 `approval-stale`): nothing executed. */
  stale: number;
  /** Decided by someone else, or expired, before this approver got to it. */
  alreadyDecided: number;
  /** Calls that failed (no answer, 5xx): tried again at the next poll. */
  errors: number;
}

export interface Approver {
  readonly stats: ApproverStats;
  /** Polls once now and decides what is pending; resolves when done. */
  poll(): Promise<void>;
  /** Stops polling; a poll under way finishes. */
  close(): Promise<void>;
}

interface PendingApproval {
  readonly approval: string;
  readonly action: string;
  readonly operation: string;
  readonly target: { readonly type?: string; readonly id?: string } | null;
}

export function startApprover(options: ApproverOptions): Approver {
  const base = options.gatewayUrl.replace(/\/+$/, '');
  const intervalMs = options.intervalMs ?? 100;
  const stats: ApproverStats = {
    polls: 0,
    approved: 0,
    rejected: 0,
    stale: 0,
    alreadyDecided: 0,
    errors: 0,
  };
  const headers = {
    accept: 'application/json',
    authorization: `Bearer ${options.operatorToken}`,
  };

  async function call(method: 'GET' | 'POST', path: string, body?: unknown) {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? null : (JSON.parse(text) as unknown) };
  }

  async function pending(): Promise<PendingApproval[]> {
    const found: PendingApproval[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `status=pending&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const answer = await call('GET', `/v1/approvals?${query}`);
      if (answer.status !== 200) throw new Error(`GET /v1/approvals answered ${answer.status}`);
      const page = answer.body as { approvals: PendingApproval[]; next: string | null };
      found.push(...page.approvals);
      cursor = page.next;
    } while (cursor);
    return found;
  }

  /** The ticket a cancel's reason says it was asked on (`… on ticket <id> […]`), or null. */
  async function askedOn(action: string): Promise<string | null> {
    const path = `/v1/trace/${encodeURIComponent(action)}`;
    const answer = await call('GET', path);
    if (answer.status !== 200) throw new Error(`GET ${path} answered ${answer.status}`);
    const { actions } = answer.body as {
      actions: { id: string; proposal: { params: { reason?: unknown } | null } }[];
    };
    const reason = actions.find((candidate) => candidate.id === action)?.proposal.params?.reason;
    return typeof reason === 'string' ? (/\bon ticket (\S+)/.exec(reason)?.[1] ?? null) : null;
  }

  async function verdict(
    approval: PendingApproval,
  ): Promise<{ approve: boolean; comment: string }> {
    if (approval.operation !== 'order.cancel' || approval.target?.type !== 'order') {
      return { approve: false, comment: `${approval.operation} was not asked for` };
    }
    const order = approval.target.id;
    const ticket = await askedOn(approval.action);
    const asked = options
      .truth()
      .cancelRequested.find((request) => request.order === order && request.ticket === ticket);
    return asked
      ? { approve: true, comment: `the customer asked on ticket ${asked.ticket}` }
      : {
          approve: false,
          comment: `ticket ${ticket ?? '(none named)'} did not ask to cancel order ${order}`,
        };
  }

  async function decide(approval: PendingApproval): Promise<void> {
    const { approve, comment } = await verdict(approval);
    const path = `/v1/approvals/${encodeURIComponent(approval.approval)}/${approve ? 'approve' : 'reject'}`;
    const answer = await call('POST', path, { comment });
    if (answer.status === 200) {
      stats[approve ? 'approved' : 'rejected'] += 1;
      return;
    }
    const type = (answer.body as { type?: unknown } | null)?.type;
    if (type === 'urn:airlock:problem:approval-stale') stats.stale += 1;
    else if (type === 'urn:airlock:problem:approval-decided') stats.alreadyDecided += 1;
    else stats.errors += 1;
  }

  async function poll(): Promise<void> {
    stats.polls += 1;
    let approvals: PendingApproval[];
    try {
      approvals = await pending();
    } catch {
      stats.errors += 1;
      return;
    }
    for (const approval of approvals) {
      await decide(approval).catch(() => {
        stats.errors += 1;
      });
    }
  }

  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> = Promise.resolve();
  const schedule = () => {
    timer = setTimeout(() => {
      current = poll().finally(() => {
        if (!stopped) schedule();
      });
    }, intervalMs);
  };
  schedule();

  return {
    stats,
    poll: () => poll(),
    async close() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
