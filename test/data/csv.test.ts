import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
    expect(usageError(() => loadCsv(file('h.csv', 'x,y\n1,2\n')))).toMatch(/h\.csv: line 1, column 1: 'x' is not a number \(the file must have no header row\)$/);
    expect(usageError(() => loadCsv(file('t.csv', '1,2\n3,abc\n')))).toMatch(/t\.csv: line 2, column 2: 'abc' is not a number$/);
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

  it('formatCsv round-trips float32 values', () => {
    const x = Float32Array.from([0.1, -1e-7, 123456.789, 3]);
    const back = parseCsv(formatCsv(x, 2), 'f.csv');
    expect(back.shape).toEqual([2]);
    expect(Array.from(back.x)).toEqual(Array.from(x));
  });
});
