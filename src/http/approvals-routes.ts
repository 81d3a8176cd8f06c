import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import {
  APPROVAL_STATUSES,
  type ApprovalDeps,
  approveApproval,
  getApproval,
  listApprovals,
  rejectApproval,
} from '../approvals/index.js';
import type { Config } from '../config.js';
import { parseInput } from './input.js';
import { operatorOf, requireOperator } from './operator-auth.js';

const listQuery = z.strictObject({
  status: z.enum(APPROVAL_STATUSES as [string, ...string[]]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().min(1).optional(),
});

const decisionBody = z
  .strictObject({ comment: z.string().trim().min(1).max(2000).optional() })
  .default({});

/**
 * `GET /v1/approvals?status=&limit=&cursor=` and `GET /v1/approvals/:id` for viewers;
 * `POST /v1/approvals/:id/approve|reject` with `{ comment? }` for approvers, recorded as the
 * operator whose token it was.
 */
export function registerApprovalsRoutes(
  app: FastifyInstance,
  deps: { approvals: ApprovalDeps; config: Pick<Config, 'operators'> },
): void {
  const viewer = requireOperator(deps.config.operators, 'viewer');
  const approver = requireOperator(deps.config.operators, 'approver');

  app.get('/v1/approvals', { preHandler: viewer }, async (request) => {
    const query = parseInput(listQuery, request.query, 'query');
    return listApprovals(deps.approvals, {
      ...query,
      status: query.status as (typeof APPROVAL_STATUSES)[number] | undefined,
    });
  });

  app.get<{ Params: { id: string } }>('/v1/approvals/:id', { preHandler: viewer }, (request) =>
    getApproval(deps.approvals, request.params.id),
  );

  for (const [verb, decide] of [
    ['approve', approveApproval],
    ['reject', rejectApproval],
  ] as const) {
    app.post<{ Params: { id: string } }>(
      `/v1/approvals/:id/${verb}`,
      { preHandler: approver },
      (request) => {
        const { comment } = parseInput(decisionBody, request.body ?? {}, 'body');
        return decide(deps.approvals, request.params.id, {
          by: operatorOf(request).name,
          comment,
        });
      },
    );
  }
}
