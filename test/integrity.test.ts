import { describe, expect, it } from 'vitest';
import { CHAOS_PRESETS } from '../src/sandbox/index.js';
import { ERROR_CLASSES } from '../src/simulation/model.js';
import { runAirlock, runDirect } from '../src/simulation/run.js';

/**
 * A short seeded run of both modes (src/simulation): the same traffic, sandbox chaos and
 * faulty agent. Writing directly makes erroneous writes; through Airlock none, and the work
 * the customers asked for gets done.
 */
describe('the integrity run, short', () => {
  const options = {
    seed: 3,
    customers: 40,
    leads: 5,
    durationMs: 6_000,
    chaos: CHAOS_PRESETS.mild,
  };

  it('direct: the faulty agent writes duplicates, loops and more', async () => {
    const direct = await runDirect(options);
    const errors = Object.values(direct.check.errors).reduce((sum, n) => sum + n, 0);
    expect(errors).toBeGreaterThan(0);
    // Deterministic per seed: re-triggers and answers to its own replies.
    expect(direct.check.errors.duplicate_effect).toBeGreaterThan(0);
    expect(direct.check.errors.loop).toBeGreaterThan(0);
  });

  it('through Airlock: no erroneous write of any class, no false block', async () => {
    const airlock = await runAirlock(options);
    for (const name of ERROR_CLASSES) expect([name, airlock.check.errors[name]]).toEqual([name, 0]);
    expect(airlock.check.falseBlocks).toBe(0);
    expect(airlock.check.completed + airlock.check.stoppedMistakes).toBe(airlock.check.required);
    expect(airlock.gateway?.duplicatesDropped).toBeGreaterThan(0);
  });
});
