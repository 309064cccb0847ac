import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { parseOptions } from '../options/schema.js';
import { CSV_SCHEMA, type CsvFormat } from './csv-options.js';
import { identityNormalization, type Dataset } from './dataset.js';

/** A plain decimal number: optional sign, digits with an optional point, optional exponent. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** Spellings of non-finite values: numbers, but not allowed. */
const NOT_FINITE = /^[+-]?(nan|inf|infinity)$/i;
/** The header of a pandas index column: empty, or 'Unnamed: 0' when a file read by pandas is written again. */
const INDEX_NAME = /^(?:Unnamed: \d+)?$/;
/** Lines the delimiter is detected from. */
const DETECT_LINES = 20;

/** Options of parseCsv/loadCsv: the layout (CSV_SCHEMA: header, delimiter; absent: auto), labels, the name in messages. */
export interface CsvOptions extends CsvFormat {
  /** 0-based column holding an integer class label, taken out of the data (counted after a dropped index column). */
  labelColumn?: number;
  /** Name used in messages (default: the path). */
  label?: string;
}

type Delimiter = Exclude<NonNullable<CsvFormat['delimiter']>, 'auto'>;

const SEPARATOR: Record<Exclude<Delimiter, 'space'>, string> = { comma: ',', tab: '\t', semicolon: ';' };
const WORDS: Record<Delimiter, string> = { comma: 'comma-separated', tab: 'tab-separated', semicolon: 'semicolon-separated', space: 'whitespace-separated' };

/** A non-blank line of the text and its 1-based number. */
interface Line {
  no: number;
  text: string;
}

function show(field: string): string {
  const s = field.replace(/\t/g, '\\t');
  return s.length > 40 ? `'${s.slice(0, 37)}...'` : `'${s}'`;
}

/** The fields of a line, trimmed, one pair of surrounding double quotes removed (as pandas and R write names). */
function splitLine(text: string, d: Delimiter): string[] {
  const fields = d === 'space' ? text.trim().split(/\s+/) : text.split(SEPARATOR[d]).map((f) => f.trim());
  return fields.map((f) => (f.length >= 2 && f.startsWith('"') && f.endsWith('"') ? f.slice(1, -1).trim() : f));
}

function holds(text: string, d: Delimiter): boolean {
  return d === 'space' ? /\s/.test(text.trim()) : text.includes(SEPARATOR[d]);
}

/**
 * The delimiter of the first lines: the first of tab, semicolon, comma, whitespace found on every
 * line that splits the lines below the first (a header may differ) into equally many fields; if
 * none does, the one of tab, semicolon, comma on most lines (a short row is then reported), else
 * comma (one column).
 */
function detectDelimiter(lines: readonly Line[]): Delimiter {
  const sample = lines.slice(0, DETECT_LINES);
  const body = sample.length > 1 ? sample.slice(1) : sample;
  const fits = (d: Delimiter) => sample.every((l) => holds(l.text, d)) && new Set(body.map((l) => splitLine(l.text, d).length)).size === 1;
  const found = (['tab', 'semicolon', 'comma', 'space'] as const).find(fits);
  if (found) return found;
  let best: Delimiter = 'comma';
  let most = 0;
  for (const d of ['tab', 'semicolon', 'comma'] as const) {
    const n = sample.filter((l) => holds(l.text, d)).length;
    if (n > most) [best, most] = [d, n];
  }
  return best;
}

function isNumeric(field: string): boolean {
  return NUMBER.test(field) || NOT_FINITE.test(field);
}

/** A row with a field that is neither empty nor a number (NaN and Infinity count as numbers here). */
function looksLikeHeader(fields: readonly string[]): boolean {
  return fields.some((f) => f !== '' && !isNumeric(f));
}

/**
 * How many leading columns are a pandas (or R) index, from the header row and the width of the
 * rows below: leading index names ('' or 'Unnamed: 0'), or a header one field short of the rows
 * (R's write.table, pandas with a whitespace separator).
 */
function indexColumns(header: readonly string[], width: number, where: string): number {
  let k = 0;
  while (k < header.length - 1 && INDEX_NAME.test(header[k])) k++;
  if (header.length === width) return k;
  if (header.length === width - 1 && k === 0) return 1;
  throw new UsageError(`${where} (the header row) has ${header.length} fields, the rows below have ${width}`);
}

/** What the reader assumed, for messages: '(read as tab-separated, a header row; --delimiter and --header choose otherwise)'. */
function layoutWords(d: Delimiter, header: boolean, skip: number, format: CsvFormat, headerShaped: boolean): string {
  const dGiven = format.delimiter !== undefined && format.delimiter !== 'auto';
  const hGiven = format.header !== undefined && format.header !== 'auto';
  const dw = `${WORDS[d]}${dGiven ? ' as --delimiter says' : ''}`;
  const hw = `${header ? 'a header row' : 'no header row'}${hGiven ? ' as --header says' : ''}${!header && headerShaped ? ', though the first row looks like one' : ''}`;
  const idx = skip === 0 ? '' : skip === 1 ? ', the first column an index (dropped)' : `, the first ${skip} columns indexes (dropped)`;
  const detected = [...(dGiven ? [] : ['--delimiter']), ...(hGiven ? [] : ['--header'])];
  const tail = detected.length === 0 ? '' : `; ${detected.join(' and ')} ${detected.length === 1 ? 'chooses' : 'choose'} otherwise`;
  return `read as ${dw}, ${hw}${idx}${tail}`;
}

/** One field as a float32-range finite number, or a UsageError naming where it is and what was read. */
function parseValue(f: string, where: string, layout: string): number {
  if (f === '') throw new UsageError(`${where}: empty value (${layout})`);
  if (NOT_FINITE.test(f)) throw new UsageError(`${where}: ${f} is not allowed, every value must be a finite number`);
  if (!NUMBER.test(f)) throw new UsageError(`${where}: ${show(f)} is not a number (${layout})`);
  const v = Number(f);
  if (!Number.isFinite(v)) throw new UsageError(`${where}: ${show(f)} overflows, every value must be a finite number`);
  if (Math.abs(v) > 3.4e38) throw new UsageError(`${where}: ${show(f)} is outside the float32 range`);
  return v;
}

/**
 * Parses CSV text: one sample a row, numbers only, any number of columns (all rows the same);
 * blank lines are skipped, fields trimmed and unquoted. The delimiter (comma, tab, semicolon or
 * runs of whitespace) is detected from the first lines unless `delimiter` names it; a header
 * row is taken when the first row is not all numbers and the next is (`header: 'yes' | 'no'`
 * decides instead); below a header, pandas' index column (header '' or 'Unnamed: 0', or a
 * header one field short) is dropped. Errors are one-line UsageErrors naming the file, line
 * and column (of the file), what was read and what layout was assumed.
 */
export function parseCsv(text: string, name: string, options: CsvOptions = {}): Dataset {
  const label = options.label ?? name;
  const format = parseOptions(CSV_SCHEMA, { header: options.header, delimiter: options.delimiter });
  const lines = text.split(/\r\n|\n|\r/).flatMap((t, i) => (t.trim() === '' ? [] : [{ no: i + 1, text: t }]));
  if (lines.length === 0) throw new UsageError(`${label}: no data (the file is empty)`);
  const delimiter = format.delimiter === undefined || format.delimiter === 'auto' ? detectDelimiter(lines) : format.delimiter;
  const first = splitLine(lines[0].text, delimiter);
  // Header-shaped: names over a row of numbers (or over pandas' index, whose values may be anything).
  const headerShaped = looksLikeHeader(first) && (INDEX_NAME.test(first[0]) || (lines.length > 1 && !looksLikeHeader(splitLine(lines[1].text, delimiter))));
  const header = format.header === 'yes' || ((format.header ?? 'auto') === 'auto' && headerShaped);
  const body = header ? lines.slice(1) : lines;
  if (body.length === 0) throw new UsageError(`${label}: no data rows below the header row on line ${lines[0].no}`);
  const width = splitLine(body[0].text, delimiter).length;
  const skip = header ? indexColumns(first, width, `${label}: line ${lines[0].no}`) : 0;
  const layout = layoutWords(delimiter, header, skip, format, headerShaped);
  const rows = body.map((line) => {
    const fields = splitLine(line.text, delimiter);
    if (fields.length !== width) throw new UsageError(`${label}: line ${line.no} has ${fields.length} values, expected ${width} as on line ${body[0].no}`);
    return fields.slice(skip).map((f, c) => parseValue(f, `${label}: line ${line.no}, column ${c + skip + 1}`, layout));
  });
  return toDataset(rows, width - skip, name, label, options.labelColumn);
}

/** The rows as a Dataset, the label column (if any) taken out as integer class labels. */
function toDataset(rows: readonly number[][], width: number, name: string, label: string, lc: number | undefined): Dataset {
  let labels: Int32Array | undefined;
  let d = width;
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
