import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { identityNormalization, type Dataset } from './dataset.js';

/** A plain decimal number: optional sign, digits with an optional point, optional exponent. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export interface CsvOptions {
  /** 0-based column holding an integer class label, taken out of the data. */
  labelColumn?: number;
  /** Name used in messages (default: the path). */
  label?: string;
}

function show(field: string): string {
  return field.length > 40 ? `'${field.slice(0, 37)}...'` : `'${field}'`;
}

/**
 * Parses CSV text: one sample a row, numbers only, no header, any number of columns (all rows
 * the same), comma-separated with optional spaces; blank lines are skipped. Errors are
 * UsageErrors naming the file, line and column.
 */
export function parseCsv(text: string, name: string, options: CsvOptions = {}): Dataset {
  const label = options.label ?? name;
  const rows: number[][] = [];
  let width = -1;
  let firstLine = 0;
  const lines = text.split(/\r\n|\n|\r/);
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li].trim();
    if (line === '') continue;
    const fields = line.split(',');
    const row = new Array<number>(fields.length);
    for (let c = 0; c < fields.length; c++) {
      const f = fields[c].trim();
      const where = `${label}: line ${li + 1}, column ${c + 1}`;
      if (f === '') throw new UsageError(`${where}: empty value`);
      if (/^[+-]?(nan|inf|infinity)$/i.test(f)) throw new UsageError(`${where}: ${f} is not allowed, every value must be a finite number`);
      if (!NUMBER.test(f)) {
        const hint = rows.length === 0 ? ' (the file must have no header row)' : '';
        throw new UsageError(`${where}: ${show(f)} is not a number${hint}`);
      }
      const v = Number(f);
      if (!Number.isFinite(v)) throw new UsageError(`${where}: ${show(f)} overflows, every value must be a finite number`);
      if (Math.abs(v) > 3.4e38) throw new UsageError(`${where}: ${show(f)} is outside the float32 range`);
      row[c] = v;
    }
    if (width < 0) {
      width = row.length;
      firstLine = li + 1;
    } else if (row.length !== width) {
      throw new UsageError(`${label}: line ${li + 1} has ${row.length} values, expected ${width} as on line ${firstLine}`);
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new UsageError(`${label}: no data (the file is empty)`);

  let labels: Int32Array | undefined;
  let d = width;
  const lc = options.labelColumn;
  if (lc !== undefined) {
    if (!(Number.isInteger(lc) && lc >= 0 && lc < width)) {
      throw new UsageError(`--label-column: expected a column index in 0..${width - 1} for ${label}, got ${lc}`);
    }
    if (width < 2) throw new UsageError(`${label}: a label column needs at least one data column besides it`);
    labels = new Int32Array(rows.length);
    d = width - 1;
  }
  const x = new Float32Array(rows.length * d);
  rows.forEach((row, i) => {
    let k = 0;
    for (let c = 0; c < width; c++) {
      if (c === lc) {
        const v = row[c];
        if (!(Number.isInteger(v) && v >= 0)) {
          throw new UsageError(`${label}: row ${i + 1}, label column ${c}: expected a non-negative integer class label, got ${v}`);
        }
        labels![i] = v;
      } else {
        x[i * d + k++] = row[c];
      }
    }
  });
  return { name, n: rows.length, shape: [d], x, normalization: identityNormalization(), ...(labels ? { labels } : {}) };
}

/** Reads a CSV file (see parseCsv); an unreadable file is a UsageError naming it. */
export function loadCsv(path: string, options: CsvOptions = {}): Dataset {
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : String((e as Error).message);
    throw new UsageError(`${options.label ?? path}: cannot read the file (${why})`);
  }
  return parseCsv(text, path, options);
}

/** Formats samples of d values as CSV text, one row per sample, 9 significant digits (enough to round-trip float32). */
export function formatCsv(x: Float32Array | number[], d: number): string {
  const lines: string[] = [];
  for (let i = 0; i < x.length; i += d) {
    const row: string[] = [];
    for (let j = 0; j < d; j++) row.push(String(Number(Math.fround(x[i + j]).toPrecision(9))));
    lines.push(row.join(','));
  }
  return lines.join('\n') + (lines.length ? '\n' : '');
}
