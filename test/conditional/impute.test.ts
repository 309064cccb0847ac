import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { conditionOnCoordinates, mixtureAt, mixtureScore, type GaussianMixture, type KnownCoordinate } from '../../src/oracle/index.js';
import { makeSDE } from '../../src/sde/index.js';
import { integrate, SOLVER_NAMES, SOLVERS, type IntegrateOptions, type SolverName } from '../../src/solvers/index.js';
import { describeFit, expectFit, fitMixture } from './helpers.js';

const sde = makeSDE({ sde: 'vp' });
const EPS = 1e-3;

/**
 * A 3-D mixture whose known coordinate (index 1) is independent of the others: components
 * (b_j, a_i, c_j) with weights p_i q_j and one std, i.e. p(x) = p(x_1) p(x_0, x_2). Here the
 * replacement method is exact: the reverse dynamics of the unknown coordinates do not depend on
 * the known one, so the samples must follow p(x_U | x_1 = y) = p(x_U) up to discretization.
 */
const P = [0.3, 0.7];
const A = [-2, 2];
const Q = [0.25, 0.75];
const BC = [[-1.5, 1], [1.5, -1]];
const PRODUCT: GaussianMixture = {
  weights: P.flatMap((p) => Q.map((q) => p * q)),
  means: A.flatMap((a) => BC.map(([b, c]) => [b, a, c])),
  stds: [0.5, 0.5, 0.5, 0.5],
};
const KNOWN: KnownCoordinate[] = [[1, 1.0]];

/** Components with equal means and stds merged (weights summed). */
function merge(mix: GaussianMixture): GaussianMixture {
  const out: GaussianMixture = { weights: [], means: [], stds: [] };
  mix.means.forEach((m, k) => {
    const i = out.means.findIndex((o, j) => o.every((v, d) => v === m[d]) && out.stds[j] === mix.stds[k]);
    if (i >= 0) out.weights[i] += mix.weights[k];
    else {
      out.weights.push(mix.weights[k]);
      out.means.push([...m]);
      out.stds.push(mix.stds[k]);
    }
  });
  return out;
}

/** The exact law of the unknown coordinates at eps given the known ones (float64 closed form). */
function exactConditional(mix: GaussianMixture, known: KnownCoordinate[]): { target: GaussianMixture; unknown: number[] } {
  const { mixture, unknown } = conditionOnCoordinates(mix, known);
  return { target: mixtureAt(sde, merge(mixture!), EPS), unknown };
}

function imputation(D: number, known: KnownCoordinate[]): { values: tf.Tensor; mask: tf.Tensor } {
  const values = new Float32Array(D);
  const mask = new Float32Array(D);
  for (const [j, v] of known) {
    values[j] = v;
    mask[j] = 1;
  }
  return { values: tf.tensor1d(values), mask: tf.tensor1d(mask) };
}

function run(mix: GaussianMixture, known: KnownCoordinate[], name: SolverName, options: IntegrateOptions, n: number, saveAt?: number[]) {
  const D = mix.means[0].length;
  const score = mixtureScore(sde, mix);
  const impute = imputation(D, known);
  const t0 = performance.now();
  const r = integrate(sde, score, name, { shape: [n, D], seed: 5, eps: EPS, impute, ...options, ...(saveAt ? { saveAt } : {}) });
  const points = r.x.arraySync() as number[][];
  const ms = performance.now() - t0;
  const saved = (r.path ?? []).map((p) => p.arraySync() as number[][]);
  tf.dispose([r.x, ...(r.path ?? []), impute.values, impute.mask]);
  score.dispose();
  return { points, saved, times: r.times ?? [], nfe: r.nfe, ms };
}

describe('imputation matches the exact conditional where the replacement method is exact', () => {
  const { target, unknown } = exactConditional(PRODUCT, KNOWN);

  test.each([
    ['euler-maruyama', { steps: 250 }],
    ['ode-heun', { steps: 100 }],
  ] as [SolverName, IntegrateOptions][])('%s %j, n = 10,000: unknown coordinates ~ p(x_U | x_1 = 1), x_1 = 1 exactly, x_1 at t ~ q(x_t | x_0 = 1)', (name, options) => {
    const { points, saved, times, nfe, ms } = run(PRODUCT, KNOWN, name, options, 10000, [0.5]);
    expect(points.every((p) => p[1] === 1)).toBe(true);
    const fit = fitMixture(points.map((p) => unknown.map((j) => p[j])), target);
    console.log(describeFit(`${name} imputation, product mixture`, fit, target) + `, nfe ${nfe}, ${ms.toFixed(0)} ms`);
    expectFit(fit, target);
    // The known coordinate on the way: a fresh draw of q(x_t | x_0 = 1) = N(m(t), std(t)^2) at the saved time.
    const { mean, std } = sde.marginalAt(times[0]);
    const k = saved[0].map((p) => p[1]);
    const mu = k.reduce((a, v) => a + v, 0) / k.length;
    const sd = Math.sqrt(k.reduce((a, v) => a + (v - mu) ** 2, 0) / k.length);
    expect(Math.abs(mu - mean)).toBeLessThan((4 * std) / Math.sqrt(k.length));
    expect(Math.abs(sd / std - 1)).toBeLessThan(0.03);
  });
});

describe('imputation is approximate where known and unknown coordinates depend on each other (measured, bounded)', () => {
  // x_0 = -2 rules out the component at (2, 0): p(x_1 | x_0 = -2) puts 1/3 on N(-2, 0.25), 2/3 on N(2, 0.25).
  // score_sde's replacement ignores that x_1 and x_0 are coupled at high noise and drifts towards equal
  // weights. A float64 NumPy run of the same method (n = 20,000, EM 500 steps / Heun 100 steps)
  // gave weights 0.354 / 0.364 and component means -1.97 / -1.91: a bias of the method, not of the code.
  const DEP: GaussianMixture = { weights: [0.2, 0.4, 0.4], means: [[-2, -2], [-2, 2], [2, 0]], stds: [0.5, 0.5, 0.5] };
  const known: KnownCoordinate[] = [[0, -2]];
  const { target, unknown } = exactConditional(DEP, known);
  const relevant: GaussianMixture = { weights: target.weights.slice(0, 2), means: target.means.slice(0, 2), stds: target.stds.slice(0, 2) };

  test.each([
    ['euler-maruyama', { steps: 250 }, 0.04],
    ['dpm-solver', { steps: 20 }, 0.05],
  ] as [SolverName, IntegrateOptions, number][])('%s %j, n = 10,000: weights within %f of the exact conditional, known coordinate exact', (name, options, tol) => {
    const { points, nfe, ms } = run(DEP, known, name, options, 10000);
    expect(points.every((p) => p[0] === -2)).toBe(true);
    const fit = fitMixture(points.map((p) => unknown.map((j) => p[j])), relevant);
    console.log(describeFit(`${name} imputation, dependent mixture (replacement bias)`, fit, relevant) + `, nfe ${nfe}, ${ms.toFixed(0)} ms`);
    fit.weights.forEach((w, k) => expect(Math.abs(w - relevant.weights[k])).toBeLessThan(tol));
    fit.compMeans.forEach((m, k) => expect(Math.abs(m[0] - relevant.means[k][0])).toBeLessThan(0.2));
  });
});

describe('imputation with every solver', () => {
  const TRI: GaussianMixture = { weights: [0.2, 0.3, 0.5], means: [[0, 2.31, 1], [-2, -1.15, 0], [2, -1.15, -1]], stds: [0.5, 0.5, 0.5] };
  const n = 64;
  const opts = (name: SolverName): IntegrateOptions => ({ shape: [n, 3], ...(SOLVERS[name].adaptive ? { rtol: 1e-3, atol: 1e-3 } : { steps: 10 }) });

  test.each(SOLVER_NAMES)('%s: known values exact at the end (shared and per-sample), reproducible, solver noise untouched', (name) => {
    const score = mixtureScore(sde, TRI);
    const shared = { values: tf.tensor1d([0.7, 0, NaN]), mask: tf.tensor1d([1, 0, 0]) };
    const perValues = Array.from({ length: n }, (_v, i) => [i / 10, -i / 20, 0]);
    const perSample = { values: tf.tensor2d(perValues), mask: tf.tensor2d(Array.from({ length: n }, (_v, i) => [1, i % 2, 0])) };
    const x = (o: IntegrateOptions) => {
      const r = integrate(sde, score, name, { ...opts(name), ...o });
      const a = r.x.arraySync() as number[][];
      r.x.dispose();
      return a;
    };
    const a = x({ impute: shared, seed: 1 });
    expect(a.every((p) => p[0] === Math.fround(0.7) && p.every(Number.isFinite))).toBe(true);
    expect(x({ impute: shared, seed: 1 })).toEqual(a);
    // After a final Tweedie step too.
    expect(x({ impute: shared, seed: 1, denoise: true }).every((p) => p[0] === Math.fround(0.7))).toBe(true);
    expect(x({ impute: shared, seed: 2 })).not.toEqual(a);
    const b = x({ impute: perSample, seed: 1 });
    b.forEach((p, i) => {
      expect(p[0]).toBe(Math.fround(perValues[i][0]));
      if (i % 2 === 1) expect(p[1]).toBe(Math.fround(perValues[i][1]));
      expect(p.every(Number.isFinite)).toBe(true);
    });
    // A mask of zeros replaces nothing and draws from its own stream: the samples are those without imputation.
    const none = { values: tf.tensor1d([0, 0, 0]), mask: tf.tensor1d([0, 0, 0]) };
    expect(x({ impute: none, seed: 3 })).toEqual(x({ seed: 3 }));
    // A given x_T is not disposed.
    const xT = sde.priorSample([n, 3], 4);
    x({ impute: shared, xT, shape: undefined, seed: 1 });
    expect(xT.isDisposed).toBe(false);
    tf.dispose([xT, shared.values, shared.mask, perSample.values, perSample.mask, none.values, none.mask]);
    score.dispose();
  });

  test.each(SOLVER_NAMES)('%s: tf.memory().numTensors stays flat over 300 steps with imputation', (name) => {
    const score = mixtureScore(sde, TRI);
    const impute = { values: tf.tensor2d(Array.from({ length: 4 }, () => [1, -1, 0])), mask: tf.tensor1d([1, 0, 1]) };
    const adaptive = SOLVERS[name].adaptive;
    // ode-rk45 capped at (T - eps)/300; sde-adaptive (weak order 2, no step cap) takes over 300 steps at 1e-4.
    const tight = name === 'sde-adaptive' ? { rtol: 1e-4, atol: 1e-4 } : { rtol: 1e-7, atol: 1e-7, maxStep: (1 - EPS) / 300 };
    const o: IntegrateOptions = adaptive ? tight : { steps: 300 };
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const r = integrate(sde, score, name, { shape: [4, 3], seed: 0, impute, ...o, onStep: () => counts.push(tf.memory().numTensors) });
    expect(counts.length).toBeGreaterThanOrEqual(300);
    expect(Math.max(...counts) - Math.min(...counts)).toBe(0);
    r.x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([impute.values, impute.mask]);
    score.dispose();
  });

  test('bad imputations are refused before any step', () => {
    const score = mixtureScore(sde, TRI);
    const go = (values: tf.Tensor, mask: tf.Tensor) => () => integrate(sde, score, 'euler-maruyama', { shape: [4, 3], steps: 2, impute: { values, mask } });
    const ok = tf.tensor1d([1, 2, 3]);
    const t = [tf.tensor1d([1, 2]), tf.tensor1d([1, 0.5, 0]), tf.tensor1d([NaN, 0, 0]), tf.tensor1d([1, 0, 0]), tf.tensor2d([[1, 0, 0]])];
    const before = tf.memory().numTensors;
    expect(go(t[0], ok)).toThrow(/impute.values has shape \[2\], expected the sample shape \[3\] or \[4,3\]/);
    expect(go(ok, t[1])).toThrow(/impute.mask must hold 0 or 1/);
    expect(go(t[2], t[3])).toThrow(/must be finite where mask = 1/);
    expect(go(ok, t[4])).toThrow(/impute.mask has shape \[1,3\]/);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([ok, ...t]);
    score.dispose();
  });
});
