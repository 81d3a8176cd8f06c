/**
 * Rows as text lines with each column padded to its widest cell, two spaces apart, and the
 * command for the next page when there is one.
 */
export function alignedTable(rows: readonly string[][], nextCursor: string | null): string {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  const lines = rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  if (nextCursor) lines.push(`more: --cursor ${nextCursor}`);
  return `${lines.join('\n')}\n`;
}
