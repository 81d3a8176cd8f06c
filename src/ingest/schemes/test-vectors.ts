// Test support: loads the shared vector files and builds requests from them. Not imported by
// the gateway itself.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { AppError } from '../../errors.js';
import type { SchemeOptions, VerifyFailure, VerifyResult, WebhookRequest } from './scheme.js';

const VECTORS_DIR = new URL('../../../../shared/vectors/', import.meta.url);

/** What a test expects from verify(): success or one failure code. */
export type Outcome = 'valid' | VerifyFailure;

/** The fields the vector files use; each vector has some of them. */
export interface Vector {
  readonly id: string;
  readonly what?: string;
  readonly source?: string;
  readonly expect?: string;
  readonly reason?: string | null;
  readonly secret?: string;
  readonly client_secret?: string;
  readonly old_secret?: string;
  readonly new_secret?: string;
  readonly body?: string;
  readonly body_utf8_hex?: string;
  readonly payload?: string;
  readonly payload_utf8_hex?: string;
  readonly method?: string;
  readonly uri?: string;
  readonly header?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timestamp?: number | string;
  readonly timestamp_ms?: string;
  readonly t?: number;
  readonly msg_id?: string;
  readonly tolerance_seconds?: number;
  readonly verify_now?: number;
  readonly verify_now_ms?: number;
  readonly [key: string]: unknown;
}

interface StandardWebhooksFile {
  readonly count: number;
  readonly vectors: readonly Vector[];
}

interface ProvidersFile {
  readonly total_vectors: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly providers: Readonly<Record<string, { scheme: unknown; vectors: readonly Vector[] }>>;
}

/** Reads a vector file; throws (failing the suite) when the shared folder is not there. */
function readVectorFile(name: string): unknown {
  const path = fileURLToPath(new URL(name, VECTORS_DIR));
  if (!existsSync(path)) {
    throw new Error(
      `vector file ${path} is missing: the tests need the shared/ folder beside the repo`,
    );
  }
  return JSON.parse(readFileSync(path, 'utf8'));
}

export const standardWebhooksFile = readVectorFile(
  'standard-webhooks.json',
) as StandardWebhooksFile;
export const providersFile = readVectorFile('providers.json') as ProvidersFile;

/** The vectors of one provider in providers.json; throws when the provider is not there. */
export function providerVectors(provider: string): readonly Vector[] {
  const entry = providersFile.providers[provider];
  if (!entry) throw new Error(`providers.json has no provider ${provider}`);
  return entry.vectors;
}

/** One vector by id, for cases that reuse a vector's inputs. */
export function vectorById(vectors: readonly Vector[], id: string): Vector {
  const vector = vectors.find((candidate) => candidate.id === id);
  if (!vector) throw new Error(`no vector ${id}`);
  return vector;
}

/** Header names lower-cased, as the HTTP edge hands them to a scheme. */
export function lowerCaseHeaders(
  headers: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]),
  );
}

/** A request as the edge builds it; the body is the UTF-8 bytes of `body`. */
export function makeRequest(parts: {
  headers?: Readonly<Record<string, string>>;
  body?: string | Buffer;
  method?: string;
  url?: string;
}): WebhookRequest {
  const body = parts.body ?? '';
  return {
    method: parts.method ?? 'POST',
    url: parts.url ?? 'https://gateway.example.com/hooks/test',
    headers: lowerCaseHeaders(parts.headers),
    body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
  };
}

/** Scheme options with the default tolerance, or the vector's. */
export function optionsFor(vector?: Vector, extra: Partial<SchemeOptions> = {}): SchemeOptions {
  return { toleranceSeconds: vector?.tolerance_seconds ?? 300, ...extra };
}

/** Asserts a verify() result is the expected outcome, showing the detail when it is not. */
export function expectOutcome(result: VerifyResult, outcome: Outcome): void {
  if (outcome === 'valid') {
    expect(result, JSON.stringify(result)).toEqual({ ok: true });
  } else {
    expect(result.ok, JSON.stringify(result)).toBe(false);
    expect(result.ok ? undefined : result.code, JSON.stringify(result)).toBe(outcome);
  }
}

/** `run` checks one vector; `note`, added to the test name, says what it checks beyond that. */
export interface VectorCase {
  readonly note?: string;
  readonly run: (vector: Vector) => void;
}

/** The cases for a vector file, by vector id. */
export type VectorCases = Readonly<Record<string, VectorCase>>;

/**
 * Declares, in the current `describe`, one test per vector running its case, named
 * `<id>: <what, else source, else expect> (<note>)`; and a test that fails unless `cases` has
 * exactly one entry per vector id, so a vector added to the shared file without a case here, or a
 * case left for a vector that is gone, is an error.
 */
export function testEachVector(vectors: readonly Vector[], cases: VectorCases): void {
  it('has one case per vector', () => {
    expect(Object.keys(cases).sort()).toEqual(vectors.map((vector) => vector.id).sort());
  });

  for (const vector of vectors) {
    const entry = cases[vector.id];
    const note = entry?.note ? ` (${entry.note})` : '';
    it(`${vector.id}: ${vector.what ?? vector.source ?? vector.expect}${note}`, () => {
      if (!entry) throw new Error(`no case for ${vector.id}`);
      entry.run(vector);
    });
  }
}

/** Asserts `run` throws AppError `malformed-body` (400). */
export function expectMalformed(run: () => unknown): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(AppError);
  expect(thrown).toMatchObject({ code: 'malformed-body', status: 400 });
}
