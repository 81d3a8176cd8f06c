import type { FastifyRequest } from 'fastify';
import type { Config, OperatorRole } from '../config.js';
import { AppError } from '../errors.js';
import { entryWithDigest, secretDigest } from '../secret-digest.js';
import { withArticle } from '../wording.js';
import { AttemptLimiter } from './sign-in-attempts.js';

const RANK: Record<OperatorRole, number> = { viewer: 0, approver: 1, admin: 2 };

export interface Operator {
  readonly name: string;
  readonly role: OperatorRole;
}

/** Whether `operator` may do what needs `role` (viewer < approver < admin). */
export function hasRole(operator: Operator, role: OperatorRole): boolean {
  return RANK[operator.role] >= RANK[role];
}

/** The operator a request was admitted for, set by `requireOperator` or a dashboard session. */
const admitted = new WeakMap<FastifyRequest, Operator>();

/** Who made a request that passed `requireOperator`. */
export function operatorOf(request: FastifyRequest): Operator {
  const operator = admitted.get(request);
  if (!operator) throw new Error('operatorOf: the route has no requireOperator preHandler');
  return operator;
}

/**
 * Admits `operator` for `request` when its role is at least `role`; throws `forbidden` (403)
 * otherwise.
 */
export function admitOperator(request: FastifyRequest, operator: Operator, role: OperatorRole) {
  if (!hasRole(operator, role)) {
    throw new AppError(
      'forbidden',
      403,
      `operator ${operator.name} is ${withArticle(operator.role)}; this needs ${role}`,
    );
  }
  admitted.set(request, operator);
}

/** The guesses at one gateway's operator tokens (its config's `operators`), by address. */
const attempts = new WeakMap<Config['operators'], AttemptLimiter>();

/**
 * The operator whose token this is, or undefined. Tokens are compared by SHA-256 in constant
 * time; the config holds only the hashes. `address` (the client's) presented it: after 20
 * tokens from one address matched nothing within a minute, it is refused with 429
 * `too-many-attempts` for the rest of the minute (operators choose their tokens, which may be
 * guessable; agent keys are random).
 */
export function matchOperator(
  operators: Config['operators'],
  token: string,
  address: string,
): (Operator & { readonly tokenSha256: string }) | undefined {
  let limiter = attempts.get(operators);
  if (!limiter) {
    limiter = new AttemptLimiter();
    attempts.set(operators, limiter);
  }
  return limiter.match(address, () => compareTokens(operators, token));
}

function compareTokens(
  operators: Config['operators'],
  token: string,
): (Operator & { readonly tokenSha256: string }) | undefined {
  const found = entryWithDigest(operators, secretDigest(token), (operator) => operator.tokenSha256);
  if (!found) return undefined;
  const [name, operator] = found;
  return { name, role: operator.role, tokenSha256: operator.tokenSha256 };
}

/**
 * A preHandler admitting operators whose role is at least `role`, by their bearer token.
 */
export function requireOperator(operators: Config['operators'], role: OperatorRole) {
  return async (request: FastifyRequest): Promise<void> => {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!token) {
      throw new AppError(
        'unauthorized',
        401,
        'an operator token is required: Authorization: Bearer <token>',
      );
    }
    const match = matchOperator(operators, token, request.ip);
    if (!match) throw new AppError('unauthorized', 401, 'the operator token is not recognised');
    admitOperator(request, { name: match.name, role: match.role }, role);
  };
}
