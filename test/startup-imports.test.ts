import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// What each thread loads at start, read from the built modules (the test setup builds them):
// an isolate that imports a package pays for its modules in memory for its whole life (Kysely
// in the checkpoint thread cost bench:ingest 7-10 MB of peak RSS), and a gateway that never
// uses PostgreSQL, MCP or tracing should not load their clients.

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const STATIC_IMPORT =
  /^(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|^import\s*['"]([^'"]+)['"]/gm;

/**
 * The npm packages that `entry` (a module under dist/) loads through its static imports, and
 * theirs; an `import()`, which loads only when it runs, is not followed.
 */
function packagesLoadedBy(entry: string): string[] {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      const specifier = match[1] ?? match[2] ?? '';
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier));
      else if (!specifier.startsWith('node:')) packages.add(packageName(specifier));
    }
  };
  visit(join(DIST, entry));
  return [...packages].sort();
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

describe('what a thread loads at start', () => {
  it('the checkpoint thread: better-sqlite3 alone', () => {
    expect(packagesLoadedBy('store/sqlite-checkpoint-thread.js')).toEqual(['better-sqlite3']);
  });

  it('the writer thread, before its jobs: better-sqlite3 alone', () => {
    // Its jobs (the inbox's batches, the op runner's) bring their own modules with their first
    // batch: the op runner's, which every gateway sends within a second, load Kysely.
    expect(packagesLoadedBy('store/sqlite-writer-thread.js')).toEqual(['better-sqlite3']);
  });

  it('the gateway and the CLI: neither pg, nor the MCP SDK, nor the OpenTelemetry SDK', () => {
    const loaded = packagesLoadedBy('cli/main.js');
    expect(loaded).toContain('fastify');
    expect(loaded).not.toContain('pg');
    expect(loaded).not.toContain('@modelcontextprotocol/sdk');
    expect(loaded.filter((name) => name.startsWith('@opentelemetry/sdk'))).toEqual([]);
    expect(loaded).not.toContain('@opentelemetry/exporter-trace-otlp-http');
  });
});
