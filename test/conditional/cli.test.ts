import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { conditioningFromArgs, conditionSource, type Conditioning } from '../../cli/conditioning-options.js';
import type { ScoreSource } from '../../cli/score-source.js';
import { UsageError } from '../../src/errors.js';
import { mixtureScore } from '../../src/oracle/index.js';
import { makeSDE } from '../../src/sde/index.js';
import { errorLines, runCli } from '../cli/run-cli.js';
import { CLASSED } from './helpers.js';

let dir: string;
const at = (f: string) => path.join(dir, f);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cli-conditional-'));
  fs.writeFileSync(at('cls.json'), JSON.stringify(CLASSED));
  fs.writeFileSync(at('plain.json'), JSON.stringify({ ...CLASSED, classes: undefined }));
  // Five samples, one row each: x_0 known in every row, x_1 known in rows 1 and 3.
  fs.writeFileSync(at('known.csv'), '3,0\n-3,2.5\n3.25,0\n-3,-1.75\n2.5,0\n');
  fs.writeFileSync(at('mask.csv'), '1,0\n1,1\n1,0\n1,1\n1,0\n');
  fs.writeFileSync(at('mask-bad.csv'), '1,0.5\n');
  fs.writeFileSync(at('wide.csv'), '1,2,3\n');
  fs.writeFileSync(at('three.csv'), '1,0\n1,0\n1,0\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function readCsv(file: string): number[][] {
  return fs.readFileSync(at(file), 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
}

function ok(args: string[]) {
  const r = runCli(args, { cwd: dir });
  expect(r.stderr.split('\n').filter((l) => l.startsWith('sde:'))).toEqual([]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

describe('sde sample with conditioning flags', () => {
  test('--class 1 samples class 1 only (x > 0); --guidance 2 doubles the NFE', () => {
    const plain = ok(['sample', '--oracle', 'cls.json', '--solver', 'dpm-solver', '--steps', '10', '--n', '2000', '--class', '1', '--out', 'c.csv', '--json']);
    expect(plain).toMatchObject({ class: 1, guidance: 0, nfe: 30 });
    const points = readCsv('c.csv');
    expect(points).toHaveLength(2000);
    expect(points.every((p) => p[0] > 0)).toBe(true);
    // Class 1 is (3, 2) with weight 2/3 and (3, -2) with 1/3: 4 binomial standard errors at n = 2000 is 0.042.
    expect(Math.abs(points.filter((p) => p[1] > 0).length / 2000 - 2 / 3)).toBeLessThan(0.042);
    const guided = ok(['sample', '--oracle', 'cls.json', '--solver', 'dpm-solver', '--steps', '10', '--n', '200', '--class', '1', '--guidance', '2', '--out', 'g.csv', '--json']);
    expect(guided).toMatchObject({ class: 1, guidance: 2, nfe: 60 });
  });

  test('--class 1,0 samples each class in turn, from the same noise, rows class-major', () => {
    const both = ok(['sample', '--oracle', 'cls.json', '--solver', 'dpm-solver++', '--steps', '20', '--n', '1000', '--class', '1,0', '--out', 'both.csv', '--json']);
    expect(both).toMatchObject({ class: [1, 0], n: 1000, total: 2000, nfe: 40 });
    const points = readCsv('both.csv');
    expect(points).toHaveLength(2000);
    expect(points.slice(0, 1000).every((p) => p[0] > 0)).toBe(true);
    expect(points.slice(1000).every((p) => p[0] < 0)).toBe(true);
    // Class 0 is (-3, 2) with weight 1/4 and (-3, -2) with 3/4: 4 binomial standard errors at n = 1000 is 0.055.
    expect(Math.abs(points.slice(1000).filter((p) => p[1] > 0).length / 1000 - 1 / 4)).toBeLessThan(0.055);
    // The first block equals a run of class 1 alone.
    ok(['sample', '--oracle', 'cls.json', '--solver', 'dpm-solver++', '--steps', '20', '--n', '1000', '--class', '1', '--out', 'one.csv', '--json']);
    expect(readCsv('one.csv')).toEqual(points.slice(0, 1000));
  });

  test('--known-dims fixes coordinates exactly; --known/--mask per sample', () => {
    const a = ok(['sample', '--oracle', 'cls.json', '--solver', 'ode-heun', '--steps', '10', '--n', '300', '--known-dims', '0=1.5', '--out', 'k.csv', '--json']);
    expect(a.knownDims).toEqual([0]);
    const pa = readCsv('k.csv');
    expect(pa.every((p) => p[0] === 1.5 && Number.isFinite(p[1]))).toBe(true);
    ok(['sample', '--oracle', 'cls.json', '--solver', 'euler-maruyama', '--steps', '20', '--n', '5', '--known', 'known.csv', '--mask', 'mask.csv', '--out', 'f.csv', '--json']);
    const known = readCsv('known.csv');
    const mask = readCsv('mask.csv');
    readCsv('f.csv').forEach((p, i) => p.forEach((v, j) => {
      if (mask[i][j] === 1) expect(v).toBe(known[i][j]);
      else expect(Number.isFinite(v)).toBe(true);
    }));
  });

  test('sde compare takes --class and --known-dims', () => {
    const out = ok(['compare', '--oracle', 'cls.json', '--solvers', 'euler-maruyama,dpm-solver', '--steps', '20', '--n', '400', '--class', '1', '--known-dims', '0=3', '--json']);
    expect(out).toMatchObject({ class: 1, guidance: 0, knownDims: [0] });
    expect(out.rows.map((r: { nfe: number }) => r.nfe)).toEqual([20, 60]);
    // The reference is p(x | class 1, x_0 = 3) (checked in-process below); replacement's bias shows in sliced W2.
    for (const r of out.rows) expect(Number.isFinite(r.sw2) && Number.isFinite(r.energy)).toBe(true);
  });

  test.each([
    [['--oracle', 'plain.json', '--class', '1'], /^sde: --class: the mixture has no "classes"/],
    [['--oracle', 'cls.json', '--class', '5'], /^sde: --class: no component of the mixture has class 5/],
    [['--oracle', 'cls.json', '--guidance', '1'], /^sde: --guidance: needs --class/],
    [['--oracle', 'cls.json', '--known-dims', '7=1'], /^sde: --known-dims: index 7 is out of range, the samples have 2 values/],
    [['--oracle', 'cls.json', '--class', '0,0'], /^sde: --class: class 0 is listed twice in '0,0'/],
    [['--oracle', 'cls.json', '--class', '0,'], /^sde: --class: expected a number, got ''/],
    [['--oracle', 'cls.json', '--class', '0,5'], /^sde: --class: no component of the mixture has class 5/],
    [['--oracle', 'cls.json', '--known', 'known.csv', '--mask', 'mask-bad.csv'], /^sde: --mask mask-bad\.csv: row 1, column 2: expected 0 or 1, got 0\.5/],
    [['--oracle', 'cls.json', '--known', 'wide.csv', '--mask', 'mask.csv'], /^sde: --known wide\.csv: rows have 3 values, the samples have 2/],
  ])('sample %j: one line, exit 2, no file written', (args, pattern) => {
    const before = fs.readdirSync(dir).sort();
    const r = runCli(['sample', '--solver', 'euler-maruyama', '--steps', '5', '--n', '10', '--out', 'bad.csv', ...args], { cwd: dir });
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });

  test('compare: a bad --class is one line, exit 2', () => {
    const r = runCli(['compare', '--oracle', 'plain.json', '--class', '0', '--n', '50', '--steps', '5'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^sde: --class: the mixture has no "classes"/)]);
    const list = runCli(['compare', '--oracle', 'cls.json', '--class', '0,1', '--n', '50', '--steps', '5'], { cwd: dir });
    expect(list.code).toBe(2);
    expect(errorLines(list.stderr)).toEqual([expect.stringMatching(/^sde: --class: sde compare takes one class, got '0,1'/)]);
  });
});

describe('conditioning flags, parsed in-process', () => {
  const parse = (argv: Record<string, unknown>) => () => conditioningFromArgs({ ...argv });

  test.each([
    [{ 'known-dims': 'x' }, /--known-dims: expected INDEX=VALUE/],
    [{ 'known-dims': '=1' }, /--known-dims: expected an index >= 0/],
    [{ 'known-dims': '-1=1' }, /--known-dims: expected an index >= 0/],
    [{ 'known-dims': '0=' }, /--known-dims: expected a finite number/],
    [{ 'known-dims': '0=1e999' }, /--known-dims: expected a finite number/],
    [{ 'known-dims': '0=1,0=2' }, /--known-dims: index 0 is given more than once/],
    [{ 'known-dims': ',' }, /--known-dims: expected INDEX=VALUE pairs/],
    [{ 'known-dims': '0=1', known: 'a.csv', mask: 'b.csv' }, /--known-dims: give either/],
    [{ mask: 'b.csv' }, /--mask: needs --known/],
    [{ class: '-1' }, /--class: expected an integer >= 0/],
    [{ class: '1', guidance: 'abc' }, /--guidance: expected a number/],
    [{ class: '1.5' }, /--class: expected an integer >= 0/],
    [{ class: '1', guidance: '-1' }, /--guidance: expected a number >= 0/],
    [{ 'known-dims': '0=nan' }, /--known-dims: expected a finite number/],
    [{ known: 'known.csv' }, /--known: needs --mask/],
    [{ known: '/nonexistent/missing.csv', mask: '/nonexistent/mask.csv' }, /--known \/nonexistent\/missing\.csv: cannot read the file \(no such file\)/],
  ])('%j is a UsageError naming the flag', (argv, pattern) => {
    expect(parse(argv)).toThrow(UsageError);
    expect(parse(argv)).toThrow(pattern);
  });

  test('--known-dims keeps the order given and accepts negative and exponent values', () => {
    expect(conditioningFromArgs({ 'known-dims': '2=-0.3, 0=1.5e0' }).knownDims).toEqual([[2, -0.3], [0, 1.5]]);
  });

  const sde = makeSDE({ sde: 'vp' });
  function fakeSource(withMixture: boolean): ScoreSource & { disposed: boolean } {
    const score = mixtureScore(sde, CLASSED);
    const s = {
      sde,
      score,
      sampleShape: [2],
      toPoints: (x: tf.Tensor) => x.arraySync() as number[][],
      describe: 'checkpoint runs/x (step 10, moons)',
      disposed: false,
      dispose: () => {
        score.dispose();
        s.disposed = true;
      },
      ...(withMixture ? { mixture: CLASSED } : {}),
    };
    return s;
  }

  test('--class with a model that is not class-conditional: a UsageError naming --class; the source is disposed', () => {
    const src = fakeSource(false);
    const before = tf.memory().numTensors;
    expect(() => conditionSource(src, { label: 1, guidance: 0 }, 10)).toThrow(/^--class: checkpoint runs\/x \(step 10, moons\) is not a class-conditional model/);
    expect(src.disposed).toBe(true);
    expect(tf.memory().numTensors).toBeLessThan(before);
  });

  test('a class-conditional model (source.conditional) is guided; a class out of its range is a UsageError', () => {
    const calls: (number | null)[] = [];
    const model = { score: (x: tf.Tensor, _t: tf.Tensor, label: number | null) => (calls.push(label), tf.mul(x, label === null ? 0 : 1)), numClasses: 3 };
    expect(() => conditionSource({ ...fakeSource(false), conditional: model }, { label: 3, guidance: 0 }, 2)).toThrow(/^--class: checkpoint runs\/x \(step 10, moons\) has classes 0\.\.2, got 3/);
    const c = conditionSource({ ...fakeSource(false), conditional: model }, { label: 2, guidance: 1 }, 2);
    const x = tf.tensor2d([[1, 2]]);
    // (1 + 1) x - 1 * 0 = 2x.
    expect(tf.tidy(() => c.score(x, tf.scalar(0.5)).arraySync())).toEqual([[2, 4]]);
    expect(calls).toEqual([2, null]);
    x.dispose();
    c.dispose();
  });

  test('a checkpoint source gets known values in model coordinates (toModel) and its points show the given values', () => {
    const src = fakeSource(false);
    // A model trained on data standardized as x = (raw - 1) / 2.
    const withNorm = { ...src, toModel: (raw: Float32Array) => raw.map((v) => (v - 1) / 2), toPoints: (x: tf.Tensor) => (x.arraySync() as number[][]).map((p) => p.map((v) => 1 + 2 * v)) };
    const c = conditionSource(withNorm, { guidance: 0, knownDims: [[1, -0.3]] }, 3);
    expect(Array.from(c.impute!.values.dataSync())).toEqual([-0.5, Math.fround(-0.65)]);
    expect(Array.from(c.impute!.mask.dataSync())).toEqual([0, 1]);
    expect(c.reference).toBeUndefined();
    const x = tf.tensor2d([[0, -0.65], [1, -0.6500001], [2, 3]]);
    expect(c.toPoints(x).map((p) => p[1])).toEqual([-0.3, -0.3, -0.3]);
    x.dispose();
    c.dispose();
    expect(src.disposed).toBe(true);
  });

  test('--known rows must be 1 or --n; a conditioned source disposes everything it made', () => {
    const c = conditioningFromArgs({ known: at('three.csv'), mask: at('three.csv') });
    expect(() => conditionSource(fakeSource(true), c, 5)).toThrow(/--known .*three\.csv: has 3 rows, expected 1 \(shared by every sample\) or one per sample \(--n 5\)/);
    const before = tf.memory().numTensors;
    const cond: Conditioning = { label: 1, guidance: 1, knownDims: [[0, 3]] };
    const src = conditionSource(fakeSource(true), cond, 4);
    expect(src.impute).toBeDefined();
    expect(src.describe).toMatch(/class 1 \(guidance 1\), 1 known coordinate$/);
    const ref = src.reference!(1000, 3);
    expect(ref.every((p) => p[0] === 3)).toBe(true);
    // p(x_1 | class 1, x_0 = 3): 2/3 at 2, 1/3 at -2.
    expect(Math.abs(ref.filter((p) => p[1] > 0).length / 1000 - 2 / 3)).toBeLessThan(0.06);
    src.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
