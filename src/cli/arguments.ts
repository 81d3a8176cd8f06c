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
  return [...new Set(operations)];
}

/** `--as NAME`: who decides or asks, recorded in the audit trail; 1 to 200 characters. */
export function parseDecider(value: string): string {
  const name = value.trim();
  if (name.length < 1 || name.length > 200) {
    throw new InvalidArgumentError('expected a name of 1 to 200 characters');
  }
  return name;
}

/** An http(s) URL, without trailing slashes. */
export function parseUrl(value: string): string {
  if (!/^https?:\/\/[^/]/.test(value)) throw new InvalidArgumentError('expected an http(s) URL');
  return value.replace(/\/+$/, '');
}

/** An `<id>` argument: any text but an empty one (an empty id is a misuse, not a lookup). */
export function parseId(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('an id is required');
  return value;
}
