import { type CheckResult, ERROR_CLASSES } from './model.js';

/**
 * The checker's findings for one run side by side, direct (the agent writing to the systems
 * itself) and through Airlock: one row per error class, then the legitimate actions completed
 * and refused as counts of the required ones and percentages. Columns aligned, numbers to the
 * right; ends with a newline.
 */
export function integrityTable(direct: CheckResult, airlock: CheckResult): string {
  const rows: string[][] = [
    ['', 'direct', 'airlock'],
    ...ERROR_CLASSES.map((name) => [
      name,
      String(direct.errors[name]),
      String(airlock.errors[name]),
    ]),
    [
      'legit completed',
      share(direct.completed, direct.required),
      share(airlock.completed, airlock.required),
    ],
    [
      'false blocks',
      share(direct.falseBlocks, direct.required),
      share(airlock.falseBlocks, airlock.required),
    ],
    [
      'agent mistakes stopped',
      share(direct.stoppedMistakes, direct.required),
      share(airlock.stoppedMistakes, airlock.required),
    ],
  ];
  const widths = [0, 1, 2].map((column) =>
    Math.max(...rows.map((row) => row[column]?.length ?? 0)),
  );
  const lines = rows.map((row) =>
    row
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  '),
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The run's one-line summary, for scripts to read:
 * `integrity: direct_erroneous=N airlock_erroneous=N legit_completed_pct=P false_block_pct=P events=N`.
 * Percentages are Airlock's, of its required actions, with one decimal (0.0 when nothing was
 * required).
 */
export function integrityLine(direct: CheckResult, airlock: CheckResult, events: number): string {
  return [
    'integrity:',
    `direct_erroneous=${erroneous(direct)}`,
    `airlock_erroneous=${erroneous(airlock)}`,
    `legit_completed_pct=${percent(airlock.completed, airlock.required)}`,
    `false_block_pct=${percent(airlock.falseBlocks, airlock.required)}`,
    `events=${events}`,
  ].join(' ');
}

/** All erroneous writes of a run, every class together. */
export function erroneous(result: CheckResult): number {
  return ERROR_CLASSES.reduce((sum, name) => sum + result.errors[name], 0);
}

function share(count: number, of: number): string {
  return `${count}/${of} (${percent(count, of)}%)`;
}

function percent(count: number, of: number): string {
  return of === 0 ? '0.0' : ((count / of) * 100).toFixed(1);
}
