import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { csvOptionsFromFlags, withCsvOptions } from '../../cli/csv-options.js';
import { formatCsv, loadCsv, parseCsv } from '../../src/data/csv.js';
import { loadDataset } from '../../src/data/index.js';
import { UsageError } from '../../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-csv-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

function usageError(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const msg = (e as Error).message;
    expect(msg.includes('\n')).toBe(false);
    return msg;
  }
  throw new Error('expected a UsageError');
}

describe('CSV loader', () => {
  it('reads numbers of any dimension, with spaces, exponents, CRLF and blank lines', () => {
    const p = file('ok.csv', '1, 2.5, -3e-2\r\n\r\n.5,+4,1E3\n  -0.0 ,7,8  \n\n');
    const ds = loadCsv(p);
    expect(ds.n).toBe(3);
    expect(ds.shape).toEqual([3]);
    expect(Array.from(ds.x)).toEqual(Array.from(Float32Array.from([1, 2.5, -0.03, 0.5, 4, 1000, -0, 7, 8])));
    expect(ds.normalization).toEqual({ mean: [0], std: [1] });
    expect(loadDataset(p).n).toBe(3);
  });

  it('takes a label column out of the data', () => {
    const ds = parseCsv('0.5,1,2\n1.5,0,3\n', 'l.csv', { labelColumn: 1 });
    expect(Array.from(ds.labels!)).toEqual([1, 0]);
    expect(Array.from(ds.x)).toEqual([0.5, 2, 1.5, 3]);
    expect(usageError(() => parseCsv('0.5,1.5\n', 'l.csv', { labelColumn: 1 }))).toMatch(/label column 1: expected a non-negative integer/);
    expect(usageError(() => parseCsv('0.5,1\n', 'l.csv', { labelColumn: 2 }))).toMatch(/^--label-column/);
  });

  it('errors name the file, the line and the column', () => {
    expect(usageError(() => loadCsv(file('h.csv', 'x,y\n1,2\n'), { header: 'no' }))).toMatch(
      /h\.csv: line 1, column 1: 'x' is not a number \(read as comma-separated, no header row as --header says, though the first row looks like one; --delimiter chooses otherwise\)$/,
    );
    expect(usageError(() => loadCsv(file('t.csv', '1,2\n3,abc\n')))).toMatch(
      /t\.csv: line 2, column 2: 'abc' is not a number \(read as comma-separated, no header row; --delimiter and --header choose otherwise\)$/,
    );
    expect(usageError(() => loadCsv(file('r.csv', '1,2\n3,4\n5\n')))).toMatch(/r\.csv: line 3 has 1 values, expected 2 as on line 1$/);
    expect(usageError(() => loadCsv(file('n.csv', '1,NaN\n')))).toMatch(/n\.csv: line 1, column 2: NaN is not allowed/);
    expect(usageError(() => loadCsv(file('i.csv', '1,2\n-Infinity,3\n')))).toMatch(/i\.csv: line 2, column 1: -Infinity is not allowed/);
    expect(usageError(() => loadCsv(file('o.csv', '1e400,2\n')))).toMatch(/o\.csv: line 1, column 1: '1e400' overflows/);
    expect(usageError(() => loadCsv(file('f.csv', '1e39\n')))).toMatch(/outside the float32 range/);
    expect(usageError(() => loadCsv(file('x.csv', '0x10,2\n')))).toMatch(/'0x10' is not a number/);
    expect(usageError(() => loadCsv(file('e.csv', '1,,2\n')))).toMatch(/e\.csv: line 1, column 2: empty value/);
    expect(usageError(() => loadCsv(file('empty.csv', '')))).toMatch(/empty\.csv: no data \(the file is empty\)/);
    expect(usageError(() => loadCsv(file('blank.csv', '\n  \n')))).toMatch(/blank\.csv: no data/);
    expect(usageError(() => loadCsv(path.join(tmp, 'missing.csv')))).toMatch(/missing\.csv: cannot read the file \(no such file\)/);
    expect(usageError(() => loadCsv(tmp))).toMatch(/cannot read the file \(is a directory\)/);
  });

  it('detects tab, semicolon and whitespace delimiters, or takes the one given', () => {
    const want = [1.5, 2, -3, 4];
    expect(Array.from(loadCsv(file('p.tsv', '1.5\t2\n-3\t4\n')).x)).toEqual(want);
    expect(Array.from(parseCsv('1.5;2\n-3;4\n', 's.csv').x)).toEqual(want);
    expect(Array.from(parseCsv('  1.5   2\n-3 \t 4  \n', 'w.txt').x)).toEqual(want);
    expect(Array.from(parseCsv('1.5\t2\n-3\t4\n', 'p.tsv', { delimiter: 'tab' }).x)).toEqual(want);
    expect(Array.from(parseCsv('1.5 2\n-3 4\n', 'w.txt', { delimiter: 'space' }).x)).toEqual(want);
    expect(parseCsv('1\n2\n3\n', 'one.csv').shape).toEqual([1]);
    // The separator given wins; a tab file read as comma-separated says what it saw and assumed.
    expect(usageError(() => parseCsv('1.5\t2\n-3\t4\n', 'p.tsv', { delimiter: 'comma' }))).toBe(
      "p.tsv: line 1, column 1: '1.5\\t2' is not a number (read as comma-separated as --delimiter says, no header row; --header chooses otherwise)",
    );
    // A ragged semicolon file is still read as semicolon-separated and the short row reported.
    expect(usageError(() => parseCsv('1;2\n3;4\n5\n', 'r.csv'))).toBe('r.csv: line 3 has 1 values, expected 2 as on line 1');
    expect(usageError(() => parseCsv('1,2\n', 'x.csv', { delimiter: 'pipe' as never }))).toMatch(/^--delimiter: expected one of auto, comma, tab, semicolon, space, got 'pipe'$/);
  });

  it('detects a header row, or takes one when told; header: no refuses it', () => {
    const tsv = file('points.tsv', 'x\ty\n1.5\t2\n-3\t4\n');
    const ds = loadCsv(tsv);
    expect([ds.n, ds.shape]).toEqual([2, [2]]);
    expect(Array.from(ds.x)).toEqual([1.5, 2, -3, 4]);
    expect(loadDataset(tsv).n).toBe(2);
    expect(parseCsv('"x";"y"\n1;2\n', 'q.csv').n).toBe(1);
    expect(parseCsv('10,20\n1,2\n', 'n.csv', { header: 'yes' }).n).toBe(1);
    expect(usageError(() => loadCsv(tsv, { header: 'no' }))).toBe(
      `${tsv}: line 1, column 1: 'x' is not a number (read as tab-separated, no header row as --header says, though the first row looks like one; --delimiter chooses otherwise)`,
    );
    expect(usageError(() => parseCsv('x,y\n', 'only.csv', { header: 'yes' }))).toBe('only.csv: no data rows below the header row on line 1');
    expect(usageError(() => parseCsv('x,y,z\n1,2\n', 'w.csv'))).toBe('w.csv: line 1 (the header row) has 3 fields, the rows below have 2');
    // A first row of names over a row that is not numbers either is no header: the first bad cell is reported.
    expect(usageError(() => parseCsv('x,y\na,b\n1,2\n', 'two.csv'))).toBe(
      "two.csv: line 1, column 1: 'x' is not a number (read as comma-separated, no header row; --delimiter and --header choose otherwise)",
    );
    expect(usageError(() => parseCsv('x,y\n1,2\n3,abc\n', 'points.csv'))).toBe(
      "points.csv: line 3, column 2: 'abc' is not a number (read as comma-separated, a header row; --delimiter and --header choose otherwise)",
    );
    expect(usageError(() => parseCsv('1,2\n', 'h.csv', { header: 'maybe' as never }))).toMatch(/^--header: expected one of auto, yes, no/);
  });

  it('drops a pandas (or R) index column below a header', () => {
    const pandas = parseCsv(',x,y\n0,1.5,2\n1,-3,4\n2,5,6\n', 'df.csv');
    expect([pandas.n, pandas.shape]).toEqual([3, [2]]);
    expect(Array.from(pandas.x)).toEqual([1.5, 2, -3, 4, 5, 6]);
    const twice = parseCsv(',Unnamed: 0,x,y\n0,0,1.5,2\n1,1,-3,4\n', 'df2.csv');
    expect(Array.from(twice.x)).toEqual([1.5, 2, -3, 4]);
    expect(Array.from(parseCsv('Unnamed: 0\tx\ty\n0\t1.5\t2\n', 'df.tsv').x)).toEqual([1.5, 2]);
    expect(Array.from(parseCsv('"","x","y"\n"1",1.5,2\n"2",-3,4\n', 'r.csv').x)).toEqual([1.5, 2, -3, 4]);
    expect(Array.from(parseCsv('x y\n0 1.5 2\n1 -3 4\n', 'df.txt').x)).toEqual([1.5, 2, -3, 4]);
    // The index may be dates; its values are not read. Errors name the file's own column.
    expect(parseCsv(',x\n2020-01-01,1\n2020-01-02,2\n', 'dates.csv').n).toBe(2);
    expect(usageError(() => parseCsv(',x,y\n0,1.5,2\n1,3,abc\n', 'df.csv'))).toBe(
      "df.csv: line 3, column 3: 'abc' is not a number (read as comma-separated, a header row, the first column an index (dropped); --delimiter and --header choose otherwise)",
    );
    // Without a header a first column 0, 1, 2 is data.
    expect(parseCsv('0,1.5\n1,2\n', 'plain.csv').shape).toEqual([2]);
  });

  it('counts --label-column after a dropped index column, and with a header', () => {
    const ds = parseCsv(',x,label,y\n0,0.5,1,2\n1,1.5,0,3\n', 'l.csv', { labelColumn: 1 });
    expect(Array.from(ds.labels!)).toEqual([1, 0]);
    expect(Array.from(ds.x)).toEqual([0.5, 2, 1.5, 3]);
    expect(Array.from(loadDataset(file('l.tsv', 'x\tlabel\n0.5\t2\n'), { labelColumn: 1 }).labels!)).toEqual([2]);
    expect(usageError(() => parseCsv(',x,label\n0,0.5,1\n', 'l.csv', { labelColumn: 2 }))).toBe('--label-column: expected a column index in 0..1 for l.csv, got 2');
  });

  it('the CLI flags --header and --delimiter check their values; --header alone means yes', () => {
    const parse = (args: string[]) => csvOptionsFromFlags(withCsvOptions(yargs(args)).parserConfiguration({ 'parse-numbers': false }).parseSync() as Record<string, unknown>);
    expect(parse([])).toEqual({});
    expect(parse(['--header', 'no', '--delimiter', 'tab'])).toEqual({ header: 'no', delimiter: 'tab' });
    expect(parse(['--header'])).toEqual({ header: 'yes' });
    expect(usageError(() => parse(['--delimiter', ',']))).toBe("--delimiter: expected one of auto, comma, tab, semicolon, space, got ','");
  });

  it('formatCsv round-trips float32 values', () => {
    const x = Float32Array.from([0.1, -1e-7, 123456.789, 3]);
    const back = parseCsv(formatCsv(x, 2), 'f.csv');
    expect(back.shape).toEqual([2]);
    expect(Array.from(back.x)).toEqual(Array.from(x));
  });
});
