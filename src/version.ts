import { readFileSync } from 'node:fs';

/** Airlock's version, as package.json states it (read once; `src/` and `dist/` both sit beside it). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;
