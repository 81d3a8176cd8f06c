import { InvalidArgumentError } from 'commander';
import { OPERATION_NAMES } from '../actions/index.js';

/** `--operations a,b`: catalogue operation names, at least one. */
export function parseOperations(value: string): string[] {
  const operations = value
    .split(',')
    .map((operation) => operation.trim())
    .filter(Boolean);
  const unknown = operations.filter((operation) => !OPERATION_NAMES.includes(operation));
  if (operations.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown operation ${unknown.join(', ') || '(none given)'}; known: ${OPERATION_NAMES.join(', ')}`,
    );
  }
  return operations;
}
