import { describe, expect, it } from 'vitest';
import type { HttpResult } from '../src/connectors/sandbox/http.js';
import { retryAfterMs, writeOutcome } from '../src/connectors/sandbox/outcome.js';

const effect = { before: null, after: {}, ref: { system: 's', type: 't', id: '1' }, revision: '2' };

function answer(status: number, headers: Record<string, string> = {}, type?: string): HttpResult {
  const body = { type: `urn:airlock:problem:${type ?? 'x'}`, detail: 'why' };
  return { kind: 'response', status, headers, body };
}

describe('sandbox connector: outcome of a write’s HTTP result', () => {
  const cases: [string, HttpResult, boolean, Record<string, unknown>][] = [
    ['200', answer(200), true, { kind: 'applied', status: 200 }],
    ['201', answer(201), false, { kind: 'applied', status: 201 }],
    [
      '409 stale, conditional',
      answer(409, {}, 'stale-revision'),
      true,
      { kind: 'conflict', status: 409 },
    ],
    [
      '409 stale, unconditional',
      answer(409, {}, 'stale-revision'),
      false,
      { kind: 'permanent', status: 409 },
    ],
    [
      '409 unique value',
      answer(409, {}, 'unique-value-taken'),
      true,
      { kind: 'permanent', status: 409 },
    ],
    ['408', answer(408), true, { kind: 'retry', status: 408, retryAfterMs: null }],
    [
      '429 seconds',
      answer(429, { 'retry-after': '3' }),
      true,
      { kind: 'retry', status: 429, retryAfterMs: 3000 },
    ],
    [
      '503',
      answer(503, { 'retry-after': '0' }),
      true,
      { kind: 'retry', status: 503, retryAfterMs: 0 },
    ],
    ['500 no header', answer(500), true, { kind: 'retry', status: 500, retryAfterMs: null }],
    ['400', answer(400), true, { kind: 'permanent', status: 400, message: 'HTTP 400: why' }],
    ['404', answer(404), true, { kind: 'permanent', status: 404 }],
    ['422', answer(422), true, { kind: 'permanent', status: 422 }],
    ['refused', { kind: 'unsent', message: 'ECONNREFUSED' }, true, { kind: 'retry', status: null }],
    [
      'timeout',
      { kind: 'lost', message: 'no answer' },
      true,
      { kind: 'ambiguous', message: 'no answer' },
    ],
  ];
  it.each(cases)('%s', (_name, result, conditional, expected) => {
    expect(writeOutcome(result, conditional, () => effect)).toMatchObject(expected);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-12-04T12:00:00Z');
    expect(retryAfterMs({ 'retry-after': '120' }, now)).toBe(120_000);
    expect(retryAfterMs({ 'retry-after': 'Fri, 04 Dec 2026 12:00:05 GMT' }, now)).toBe(5000);
    expect(retryAfterMs({ 'retry-after': 'Fri, 04 Dec 2026 11:00:00 GMT' }, now)).toBe(0);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeNull();
    expect(retryAfterMs({}, now)).toBeNull();
  });
});
