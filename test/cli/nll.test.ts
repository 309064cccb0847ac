import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { normalRng, uniformRng } from '../../src/random.js';
import { errorLines, runCli } from './run-cli.js';

let dir: string;
const MIX = { weights: [0.2, 0.3, 0.5], means: [[0, 3], [-2.6, -1.5], [2.6, -1.5]], stds: [0.4, 0.4, 0.4] };
// A mixture inside [-1, 1] for 8-bit data.
const SMALL = { weights: [0.5, 0.5], means: [[0.3, -0.2], [-0.3, 0.25]], stds: [0.25, 0.2] };

type Mix = typeof MIX;

/** n seeded draws of a mixture (float64, host). */
function draws(mix: Mix, n: number, seed: number): number[][] {
  const u = uniformRng(seed);
  const z = normalRng(seed + 1);
  return Array.from({ length: n }, () => {
    let k = 0;
    for (let r = u(); k < mix.weights.length - 1 && r >= mix.weights[k]; k++) r -= mix.weights[k];
    return mix.means[k].map((m) => m + mix.stds[k] * z());
  });
}

/** -log p_t(x) of the mixture diffused to t on the linear VP-SDE (beta 0.1 .. 20), float64. */
function nllAt(mix: Mix, x: number[], t: number): number {
  const B = 0.1 * t + 9.95 * t * t;
  const m = Math.exp(-B / 2);
  const terms = mix.weights.map((w, k) => {
    const v = m * m * mix.stds[k] ** 2 - Math.expm1(-B);
    const sq = x.reduce((s, xj, j) => s + (xj - m * mix.means[k][j]) ** 2, 0);
    return Math.log(w) - sq / (2 * v) - (x.length / 2) * Math.log(2 * Math.PI * v);
  });
  const top = Math.max(...terms);
  return -(top + Math.log(terms.reduce((s, v) => s + Math.exp(v - top), 0)));
}

const csv = (rows: number[][]) => rows.map((r) => r.join(',')).join('\n') + '\n';
let points: number[][];
let closed: number;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sde-cli-nll-'));
  fs.writeFileSync(path.join(dir, 'mix.json'), JSON.stringify(MIX));
  fs.writeFileSync(path.join(dir, 'small.json'), JSON.stringify(SMALL));
  points = draws(MIX, 300, 1);
  fs.writeFileSync(path.join(dir, 'points.csv'), csv(points));
  closed = points.reduce((s, p) => s + nllAt(MIX, p, 1e-5), 0) / (300 * 2);
  fs.writeFileSync(path.join(dir, 'three.csv'), '1,2,3\n4,5,6\n');
  // 8-bit data: draws of SMALL rounded to the levels k / 127.5 - 1.
  const levels = draws(SMALL, 200, 2).map((p) => p.map((v) => Math.min(255, Math.max(0, Math.round((v + 1) * 127.5))) / 127.5 - 1));
  fs.writeFileSync(path.join(dir, 'eight-bit.csv'), csv(levels));
  // For a trained model: points scaled away from unit variance (the checkpoint stores the normalization).
  const scaled = draws(MIX, 400, 3).map((p) => [3 * p[0] + 1, 0.5 * p[1] - 2]);
  fs.writeFileSync(path.join(dir, 'train.csv'), csv(scaled));
  fs.writeFileSync(path.join(dir, 'held-out.csv'), csv(scaled.slice(0, 40)));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('sde nll', () => {
  test('ode --json: method, natsPerDim (the closed form within 0.01), bitsPerDim, nfe, seconds, n', () => {
    const r = runCli(['nll', '--oracle', 'mix.json', '--data', 'points.csv', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ method: 'ode', n: 300, dims: 2, divergence: 'exact', dequantized: false });
    expect(Math.abs(out.natsPerDim - closed)).toBeLessThan(0.01);
    expect(out.bitsPerDim).toBeCloseTo(out.natsPerDim / Math.LN2, 10);
    expect(out.nfe).toBe(1 + 6 * (out.accepted + out.rejected));
    expect(out.seconds).toBeGreaterThan(0);
  });

  test('vlb --json: one NFE per step, above the NLL up to Monte Carlo error and close to it', () => {
    const r = runCli(['nll', '--oracle', 'mix.json', '--data', 'points.csv', '--method', 'vlb', '--steps', '200', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ method: 'vlb', n: 300, steps: 200, nfe: 200, variance: 'beta', grid: 'uniform' });
    expect(out.seconds).toBeGreaterThan(0);
    expect(out.bitsPerDim).toBeCloseTo(out.natsPerDim / Math.LN2, 10);
    // seNatsPerDim includes the spread of the points' own NLL, which the bound shares: a loose but honest margin.
    expect(out.natsPerDim).toBeGreaterThan(closed - 3 * out.seNatsPerDim);
    expect(out.natsPerDim).toBeLessThan(closed + 0.15);
  });

  test('--hutchinson picks the estimator and its probe; batches cover every point', () => {
    const r = runCli(['nll', '--oracle', 'mix.json', '--data', 'points.csv', '--hutchinson', 'rademacher', '--batch', '150', '--rtol', '1e-4', '--atol', '1e-4', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ method: 'ode', divergence: 'hutchinson', probe: 'rademacher', n: 300, batches: 2 });
    expect(Math.abs(out.natsPerDim - closed)).toBeLessThan(4 * out.seNatsPerDim + 0.02);
  });

  test('--dequantize: 8-bit data gets uniform noise and log 127.5 per dimension; the VLB a discretized decoder', () => {
    // The discrete NLL in bits/dim: -log2 P(k) with P(k) ~ p(x_k) / 127.5^D for a density smooth at the bin scale.
    const rows = fs.readFileSync(path.join(dir, 'eight-bit.csv'), 'utf8').trim().split('\n').map((l) => l.split(',').map(Number));
    const discrete = rows.reduce((s, p) => s + nllAt(SMALL, p, 0) / 2 + Math.log(127.5), 0) / rows.length / Math.LN2;
    const ode = runCli(['nll', '--oracle', 'small.json', '--data', 'eight-bit.csv', '--dequantize', '--json'], { cwd: dir });
    expect(ode.code).toBe(0);
    const o = JSON.parse(ode.stdout);
    expect(o.dequantized).toBe(true);
    expect(o.bitsPerDim).toBeCloseTo((o.natsPerDim + Math.log(127.5)) / Math.LN2, 10);
    expect(Math.abs(o.bitsPerDim - discrete)).toBeLessThan(0.02);
    const vlb = runCli(['nll', '--oracle', 'small.json', '--data', 'eight-bit.csv', '--dequantize', '--method', 'vlb', '--steps', '100', '--json'], { cwd: dir });
    expect(vlb.code).toBe(0);
    const v = JSON.parse(vlb.stdout);
    expect(v.bitsPerDim).toBeCloseTo(v.natsPerDim / Math.LN2, 10);
    expect(Math.abs(v.bitsPerDim - discrete)).toBeLessThan(0.3);
  });

  test('a trained checkpoint: NLL in data coordinates by both methods; a data file of another dimension is refused', () => {
    const train = runCli(['train', '--data', 'train.csv', '--iters', '30', '--batch', '64', '--out', 'run'], { cwd: dir });
    expect(train.code).toBe(0);
    const ode = runCli(['nll', '--checkpoint', 'run', '--data', 'held-out.csv', '--rtol', '1e-3', '--atol', '1e-3', '--batch', '25', '--json'], { cwd: dir });
    expect(ode.code).toBe(0);
    const vlb = runCli(['nll', '--checkpoint', 'run', '--data', 'held-out.csv', '--method', 'vlb', '--steps', '20', '--json'], { cwd: dir });
    expect(vlb.code).toBe(0);
    for (const out of [JSON.parse(ode.stdout), JSON.parse(vlb.stdout)]) {
      expect(out.n).toBe(40);
      expect(Number.isFinite(out.natsPerDim)).toBe(true);
      expect(out.nfe).toBeGreaterThan(0);
    }
    const bad = runCli(['nll', '--checkpoint', 'run', '--data', 'three.csv'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(errorLines(bad.stderr)).toEqual([expect.stringMatching(/three\.csv: rows have 3 values, the model's samples have 2/)]);
    expect(bad.stdout).toBe('');
  });

  test.each([
    [['--oracle', 'mix.json'], /required argument: data/],
    [['--oracle', 'mix.json', '--data', 'points.csv', '--method', 'exact'], /--method: expected one of ode, vlb/],
    [['--oracle', 'mix.json', '--data', 'points.csv', '--steps', '10'], /--steps: only read by --method vlb/],
    [['--oracle', 'mix.json', '--data', 'points.csv', '--method', 'vlb', '--rtol', '1e-3'], /--rtol: only read by --method ode/],
    [['--oracle', 'mix.json', '--data', 'points.csv', '--method', 'vlb', '--sde', 've'], /VP-SDE/],
    [['--oracle', 'mix.json', '--data', 'points.csv', '--dequantize'], /--dequantize.*row 1/],
  ])('bad input %j: one line, exit 2', (args, pattern) => {
    const r = runCli(['nll', ...args], { cwd: dir });
    expect(r.code).toBe(2);
    const lines = errorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(pattern);
    expect(r.stdout).toBe('');
  });
});
