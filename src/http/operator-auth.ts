import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Config, OperatorRole } from '../config.js';
import { AppError } from '../errors.js';

const RANK: Record<OperatorRole, number> = { viewer: 0, approver: 1, admin: 2 };

export interface Operator {
  readonly name: string;
  readonly role: OperatorRole;
}

/** The operator a request was admitted for, set by `requireOperator`. */
const admitted = new WeakMap<FastifyRequest, Operator>();

/** Who made a request that passed `requireOperator`. */
export function operatorOf(request: FastifyRequest): Operator {
  const operator = admitted.get(request);
  if (!operator) throw new Error('operatorOf: the route has no requireOperator preHandler');
  return operator;
}

/**
 * A preHandler admitting operators whose role is at least `role` (viewer < approver < admin).
 * Tokens are compared by SHA-256 in constant time; the config holds only the hashes.
 */
export function requireOperator(operators: Config['operators'], role: OperatorRole) {
  const known = Object.entries(operators).map(([name, operator]) => ({
    name,
    role: operator.role,
    hash: Buffer.from(operator.tokenSha256, 'hex'),
  }));
  return async (request: FastifyRequest): Promise<void> => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token) {
      throw new AppError(
        'unauthorized',
        401,
        'an operator token is required: Authorization: Bearer <token>',
      );
    }
    const hash = createHash('sha256').update(token).digest();
    // Compare against every operator so the time taken does not tell which one matched.
    let match: Operator | undefined;
    for (const operator of known) {
      if (timingSafeEqual(hash, operator.hash)) match = operator;
    }
    if (!match) throw new AppError('unauthorized', 401, 'the operator token is not recognised');
    if (RANK[match.role] < RANK[role]) {
      throw new AppError(
        'forbidden',
        403,
        `operator ${match.name} is a ${match.role}; this needs ${role}`,
      );
    }
    admitted.set(request, { name: match.name, role: match.role });
  };
}
