import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { mixtureScore } from '../../src/oracle/index.js';
import { makeSDE, type SDE } from '../../src/sde/index.js';
import { checkSolverOptions, integrate, type IntegrateOptions, type NoiseInterval } from '../../src/solvers/index.js';
import { normalArray } from '../../src/random.js';
import { gaussianMarginal, MU, S0, TRIANGLE } from './helpers.js';
import { expectTriangle, sampleTriangle } from './mixture-cases.js';

// sde-adaptive (Jolicoeur-Martineau et al. 2021): Euler-Maruyama / stochastic improved Euler
// pair with step-size control, one step size for the batch.
const EPS = 1e-3;
const vp = makeSDE({ sde: 'vp' });

/**
 * The exact law N(mu, sigma^2) at the end of the stochastic improved Euler scheme on a given
 * decreasing grid, for 1-D Gaussian data N(MU, S0^2) started from the exact marginal at grid[0]
 * (float64): the score -(x - m MU)/v is affine, F(x, t) = a x - g^2 s = p x + q, and each step
 * x_new = x + (K1 + K2)/2 with K1 = -h F(x, t) + g sqrt(h) z, K2 = -h F(x + K1, t') + g' sqrt(h) z
 * is affine in (x, z): x_new = alpha x + beta + gamma z.
 */
function heunLawOnGrid(sde: SDE, grid: number[]): { mean: number; std: number } {
  const pq = (t: number) => {
    const { mean: m, std } = sde.marginalAt(t);
    const v = m * m * S0 * S0 + std * std;
    const g = sde.diffusionAt(t);
    return { p: sde.driftCoefAt(t) + (g * g) / v, q: (-g * g * m * MU) / v, g };
  };
  let { mean: mu, std: sigma } = gaussianMarginal(sde, grid[0]);
  for (let i = 0; i + 1 < grid.length; i++) {
    const h = grid[i] - grid[i + 1];
    const a = pq(grid[i]);
    const b = pq(grid[i + 1]);
    // Affine forms [coefficient of x, constant, coefficient of z].
    const k1 = [-h * a.p, -h * a.q, a.g * Math.sqrt(h)];
    const low = [1 + k1[0], k1[1], k1[2]];
    const k2 = [-h * b.p * low[0], -h * b.p * low[1] - h * b.q, -h * b.p * low[2] + b.g * Math.sqrt(h)];
    const [alpha, beta, gamma] = [1 + (k1[0] + k2[0]) / 2, (k1[1] + k2[1]) / 2, (k1[2] + k2[2]) / 2];
    mu = alpha * mu + beta;
    sigma = Math.sqrt(alpha * alpha * sigma * sigma + gamma * gamma);
  }
  return { mean: mu, std: sigma };
}

function meanStd(v: ArrayLike<number>): { mean: number; std: number } {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += v[i] / v.length;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] - m) ** 2 / v.length;
  return { mean: m, std: Math.sqrt(s) };
}

describe('sde-adaptive on the triangle mixture (VP, 20,000 samples)', () => {
  test.each([{}, { errorNorm: 'max' }] as IntegrateOptions[])('at the default tolerances %j it reproduces the mixture', (options) => {
    const { check } = sampleTriangle('sde-adaptive', options);
    expectTriangle(check);
  });
});

describe('sde-adaptive on Gaussian data (VP)', () => {
  test('the error of the scheme on the grid it picks falls with the tolerance, NFE grows, and the samples follow that law', () => {
    const n = 20000;
    const score = mixtureScore(vp, { weights: [1], means: [[MU]], stds: [S0] });
    const start = gaussianMarginal(vp, vp.T);
    const xT = tf.tensor2d(Float32Array.from(normalArray(n, 11), (z) => start.mean + start.std * z), [n, 1]);
    const end = gaussianMarginal(vp, EPS);
    const rows = [1e-1, 1e-2, 1e-3].map((tol) => {
      const grid = [vp.T];
      const r = integrate(vp, score, 'sde-adaptive', { xT, seed: 2, rtol: tol, atol: tol, onStep: (_k, t) => grid.push(t) });
      const sample = meanStd(r.x.dataSync());
      r.x.dispose();
      expect(grid[grid.length - 1]).toBe(EPS);
      expect(grid.length - 1).toBe(r.accepted);
      expect(r.nfe).toBe(2 * (r.accepted! + r.rejected!));
      const law = heunLawOnGrid(vp, grid);
      const lawError = Math.abs(law.mean - end.mean) + Math.abs(law.std - end.std);
      // Monte Carlo: the samples follow the scheme's law on that grid (4 standard errors).
      expect(Math.abs(sample.mean - law.mean)).toBeLessThan((4 * law.std) / Math.sqrt(n));
      expect(Math.abs(sample.std - law.std)).toBeLessThan((4 * law.std) / Math.sqrt(2 * n));
      console.log(`sde-adaptive vp gaussian tol ${tol}: nfe ${r.nfe} (accepted ${r.accepted}, rejected ${r.rejected}); scheme law |dmean| + |dstd| = ${lawError.toExponential(2)}; samples dmean ${(sample.mean - end.mean).toExponential(2)}, dstd ${(sample.std - end.std).toExponential(2)}`);
      return { nfe: r.nfe, lawError };
    });
    // The kept solution is the improved Euler's, weak order 2: the error falls like NFE^-2.
    const slopes = rows.slice(1).map((row, i) => Math.log(rows[i].lawError / row.lawError) / Math.log(row.nfe / rows[i].nfe));
    console.log(`sde-adaptive vp gaussian: error ~ NFE^-p, p = ${slopes.map((p) => p.toFixed(2)).join(', ')}`);
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i].nfe).toBeGreaterThan(2 * rows[i - 1].nfe);
      expect(rows[i].lawError).toBeLessThan(rows[i - 1].lawError / 4);
      expect(slopes[i - 1]).toBeGreaterThan(1.5);
    }
    xT.dispose();
    score.dispose();
  });
});

describe('sde-adaptive run results', () => {
  test('steps land exactly on save times; saveAt "all" keeps every accepted state; no tensor is left behind', () => {
    const score = mixtureScore(vp, TRIANGLE);
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const r = integrate(vp, score, 'sde-adaptive', { shape: [64, 2], saveAt: [0.5, 1, 0.1, EPS], onStep: () => counts.push(tf.memory().numTensors) });
    expect(r.times).toEqual([1, 0.5, 0.1, EPS]);
    expect(Array.from(r.path![3].dataSync())).toEqual(Array.from(r.x.dataSync()));
    // One live x and x'_prev, plus the saved states, the whole way through.
    expect(counts.length).toBe(r.accepted);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(3);
    tf.dispose([r.x, ...r.path!]);
    const all = integrate(vp, score, 'sde-adaptive', { shape: [64, 2], saveAt: 'all' });
    expect(all.times!.length).toBe(all.accepted! + 1);
    expect(all.times![0]).toBe(1);
    expect(all.times![all.times!.length - 1]).toBe(EPS);
    all.times!.slice(1).forEach((t, i) => expect(t).toBeLessThan(all.times![i]));
    tf.dispose([all.x, ...all.path!]);
    expect(tf.memory().numTensors).toBe(before);
    score.dispose();
  });

  test('noise draws stand for the attempted intervals [t, t - h], which tile [T, eps] along the accepted steps', () => {
    const score = mixtureScore(vp, TRIANGLE);
    const intervals: NoiseInterval[] = [];
    const reached = [vp.T];
    const noise = (shape: number[], step: number, _stage: number, interval?: NoiseInterval) => {
      intervals.push(interval!);
      return tf.tensor(normalArray(shape.reduce((a, b) => a * b, 1), 1000 + step), shape);
    };
    const r = integrate(vp, score, 'sde-adaptive', { shape: [256, 2], noiseSampler: noise, rtol: 1e-3, atol: 1e-3, onStep: (_k, t) => reached.push(t) });
    expect(intervals.length).toBe(r.accepted! + r.rejected!);
    expect(r.rejected).toBeGreaterThan(0);
    // Each attempt starts where the last accepted step ended; the accepted ones end where onStep says.
    let k = 0;
    for (const iv of intervals) {
      expect(iv.from).toBe(reached[k]);
      expect(iv.to).toBeLessThan(iv.from);
      if (k + 1 < reached.length && Math.abs(iv.to - reached[k + 1]) < 1e-12) k++;
    }
    expect(k).toBe(r.accepted);
    r.x.dispose();
    score.dispose();
  });

  test('imputation: the known coordinate ends at its value, the other follows its marginal', () => {
    const n = 4000;
    const score = mixtureScore(vp, { weights: [1], means: [[MU, MU]], stds: [S0] });
    const impute = { values: tf.tensor1d([0.7, 0]), mask: tf.tensor1d([1, 0]) };
    const before = tf.memory().numTensors;
    const r = integrate(vp, score, 'sde-adaptive', { shape: [n, 2], seed: 4, impute });
    const x = r.x.arraySync() as number[][];
    r.x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(x.every((p) => Math.fround(p[0]) === Math.fround(0.7))).toBe(true);
    // Isotropic data: the coordinates are independent, so x_1 | x_0 ~ N(MU, S0^2) at eps.
    const end = gaussianMarginal(vp, EPS);
    const s = meanStd(x.map((p) => p[1]));
    console.log(`sde-adaptive imputation: nfe ${r.nfe}, dmean ${(s.mean - end.mean).toExponential(2)}, dstd ${(s.std - end.std).toExponential(2)}`);
    expect(Math.abs(s.mean - end.mean)).toBeLessThan((4 * end.std) / Math.sqrt(n));
    expect(Math.abs(s.std - end.std)).toBeLessThan((4 * end.std) / Math.sqrt(2 * n));
    tf.dispose([impute.values, impute.mask]);
    score.dispose();
  });

  test('bad options are OptionErrors naming the flag; the step cap throws and frees its tensors', () => {
    const cases: [IntegrateOptions, string][] = [
      [{ rtol: 0 }, '--rtol'],
      [{ atol: -1 }, '--atol'],
      [{ firstStep: 0 }, '--first-step'],
      [{ safety: 1.5 }, '--safety'],
      [{ errorExponent: 0 }, '--error-exponent'],
      [{ errorNorm: 'l1' as never }, '--error-norm'],
      [{ maxSteps: 2.5 }, '--max-steps'],
    ];
    for (const [options, flag] of cases) {
      let err: unknown;
      try {
        checkSolverOptions(vp, 'sde-adaptive', { shape: [1, 1], ...options });
      } catch (e) {
        err = e;
      }
      expect(err, flag).toBeInstanceOf(UsageError);
      expect((err as Error).message.startsWith(flag), (err as Error).message).toBe(true);
    }
    const score = mixtureScore(vp, TRIANGLE);
    const before = tf.memory().numTensors;
    expect(() => integrate(vp, score, 'sde-adaptive', { shape: [8, 2], maxSteps: 5, saveAt: 'all' })).toThrow(/more than 5 attempted steps/);
    expect(tf.memory().numTensors).toBe(before);
    score.dispose();
  });
});
