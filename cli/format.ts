/** Formats a number for a text table: integers as they are, others with 6 significant digits. */
export function formatNumber(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e6) ? v.toExponential(5) : v.toPrecision(6);
}

/** A right-aligned plain-text table with a header row. */
export function formatTable(header: string[], rows: (number | string)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(formatNumber))];
  const widths = header.map((_, j) => Math.max(...cells.map((r) => r[j].length)));
  return cells.map((r) => r.map((c, j) => c.padStart(widths[j])).join('  ')).join('\n');
}
