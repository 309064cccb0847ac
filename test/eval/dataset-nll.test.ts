import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { datasetNll, meanAndStandardError, normalizationLogJacobian } from '../../src/eval/dataset-nll.js';
import { mixtureScore, sampleMixture, type GaussianMixture } from '../../src/oracle/index.js';
import { makeSDE } from '../../src/sde/registry.js';

/*
 * datasetNll called as a library user would, against closed forms computed here in float64,
 * independently of src: the linear VP-SDE (beta 0.1 .. 20) has B(t) = 0.1 t + 9.95 t^2,
 * mean m = exp(-B/2), var = 1 - exp(-B); a mixture diffused to t is
 * p_t(x) = sum_k w_k N(x; m mu_k, (m^2 s_k^2 + var) I). Data in raw coordinates raw = a + b x
 * (per coordinate) then has the Gaussian-mixture density with means a + b m mu_k and
 * per-coordinate variances b_j^2 (m^2 s_k^2 + var), written out directly (no Jacobian formula).
 */
const EPS = 1e-5;
const B = (t: number) => 0.1 * t + 9.95 * t * t;

/** log density of raw = a + b x_t at a point, x_t the mixture diffused to t (t = 0: the mixture itself). */
function rawLogDensity(mix: GaussianMixture, t: number, a: number[], b: number[], raw: ArrayLike<number>): number {
  const m = Math.exp(-B(t) / 2);
  const v = -Math.expm1(-B(t));
  const terms = mix.weights.map((w, k) => {
    let s = Math.log(w);
    for (let j = 0; j < raw.length; j++) {
      const variance = b[j] ** 2 * (m * m * mix.stds[k] ** 2 + v);
      s += -((raw[j] - (a[j] + b[j] * m * mix.means[k][j])) ** 2) / (2 * variance) - 0.5 * Math.log(2 * Math.PI * variance);
    }
    return s;
  });
  const top = Math.max(...terms);
  return top + Math.log(terms.reduce((s, x) => s + Math.exp(x - top), 0));
}

const TRIANGLE: GaussianMixture = { weights: [0.2, 0.3, 0.5], means: [[0, 3], [-2.6, -1.5], [2.6, -1.5]], stds: [0.4, 0.4, 0.4] };
/** Inside [-1, 1], smooth at the scale of 8-bit bins (1/127.5). */
const SMALL: GaussianMixture = { weights: [0.5, 0.5], means: [[0.3, -0.2], [-0.3, 0.25]], stds: [0.25, 0.2] };

/** n draws of a mixture as host rows (float64 copies of the float32 draws). */
function draws(mix: GaussianMixture, n: number, seed: number): number[][] {
  const { x } = sampleMixture(mix, n, seed);
  const rows = x.arraySync() as number[][];
  x.dispose();
  return rows;
}

describe('normalizationLogJacobian and meanAndStandardError', () => {
  test('sum_j log std_j, a single std repeated over D coordinates', () => {
    expect(normalizationLogJacobian({ mean: [1, -2], std: [3, 0.5] }, 2)).toBeCloseTo(Math.log(1.5), 14);
    expect(normalizationLogJacobian({ mean: [0], std: [2] }, 3)).toBeCloseTo(3 * Math.log(2), 14);
    expect(normalizationLogJacobian({ mean: [0], std: [1] }, 784)).toBe(0);
  });

  test('mean and s / sqrt(n) with the n - 1 sample variance; 0 for one value', () => {
    // 1, 2, 3, 4: mean 5/2, sample variance 5/3, SE sqrt(5/12).
    const r = meanAndStandardError([1, 2, 3, 4]);
    expect(r.mean).toBe(2.5);
    expect(r.se).toBeCloseTo(Math.sqrt(5 / 12), 14);
    expect(meanAndStandardError(Float64Array.of(7))).toEqual({ mean: 7, se: 0 });
  });
});

describe('datasetNll', () => {
  test('ode: a mixture data set in raw coordinates under the exact score, against its exact log density, in batches', () => {
    const sde = makeSDE({ sde: 'vp' });
    const score = mixtureScore(sde, TRIANGLE);
    const a = [1, -2];
    const b = [3, 0.5];
    const raw = Float32Array.from(draws(TRIANGLE, 150, 4).flatMap((p) => p.map((v, j) => a[j] + b[j] * v)));
    const batches: number[][] = [];
    const before = tf.memory().numTensors;
    const r = datasetNll(sde, score, { x: raw, sampleShape: [2] }, { normalization: { mean: a, std: b }, batch: 60, onBatch: (...args) => batches.push(args) });
    expect(tf.memory().numTensors).toBe(before);
    expect(r).toMatchObject({ method: 'ode', n: 150, dims: 2, batches: 3, divergence: 'exact', dequantized: false });
    expect(batches).toEqual([[1, 3, 60], [2, 3, 120], [3, 3, 150]]);
    expect(r.logJacobian).toBeCloseTo(Math.log(1.5), 6);
    const closed = Array.from({ length: 150 }, (_v, i) => -rawLogDensity(TRIANGLE, EPS, a, b, raw.subarray(2 * i, 2 * i + 2)));
    const closedPerDim = closed.reduce((s, v) => s + v, 0) / 300;
    expect(Math.abs(r.natsPerDim - closedPerDim)).toBeLessThan(0.01);
    // The standard error is that of the per-point values, and the per-point values follow the closed form.
    const seClosed = Math.sqrt(closed.reduce((s, v) => s + (v - closedPerDim * 2) ** 2, 0) / 149 / 150) / 2;
    expect(r.seNatsPerDim).toBeCloseTo(seClosed, 2);
    expect(r.bitsPerDim).toBeCloseTo(r.natsPerDim / Math.LN2, 12);
    expect(r.nfe).toBeGreaterThan(3);
    score.dispose();
  });

  test('ode --dequantize: 8-bit levels, uniform noise, no Jacobian, bits/dim with the log2 127.5 offset against the discrete closed form', () => {
    const sde = makeSDE({ sde: 'vp' });
    const score = mixtureScore(sde, SMALL);
    const levels = draws(SMALL, 200, 2).map((p) => p.map((v) => Math.min(255, Math.max(0, Math.round((v + 1) * 127.5))) / 127.5 - 1));
    const x = Float32Array.from(levels.flat());
    const r = datasetNll(sde, score, { x, sampleShape: [2] }, { dequantize: true, seed: 3 });
    expect(r.dequantized).toBe(true);
    expect(r.logJacobian).toBe(0);
    expect(r.bitsPerDim - r.natsPerDim / Math.LN2).toBeCloseTo(Math.log2(127.5), 12);
    // -log2 P(k) = -log2 of the bin's probability, p(x_k) / 127.5^D for a density smooth at the bin scale.
    const discrete = levels.reduce((s, p) => s - rawLogDensity(SMALL, 0, [0, 0], [1, 1], p) + 2 * Math.log(127.5), 0) / (200 * 2 * Math.LN2);
    expect(Math.abs(r.bitsPerDim - discrete)).toBeLessThan(0.02);
    // The same seed draws the same noise.
    expect(datasetNll(sde, score, { x, sampleShape: [2] }, { dequantize: true, seed: 3 }).natsPerDim).toBe(r.natsPerDim);
    score.dispose();
  });

  test('vlb: above the closed-form NLL up to Monte Carlo error, close to it; its terms add up to the bound', () => {
    const sde = makeSDE({ sde: 'vp' });
    const score = mixtureScore(sde, TRIANGLE);
    const a = [0.5, 0];
    const b = [2, 2];
    const raw = Float32Array.from(draws(TRIANGLE, 200, 5).flatMap((p) => p.map((v, j) => a[j] + b[j] * v)));
    const r = datasetNll(sde, score, { x: raw, sampleShape: [2] }, { method: 'vlb', steps: 200, normalization: { mean: a, std: [2] }, seed: 1 });
    expect(r.method).toBe('vlb');
    if (r.method !== 'vlb') return;
    expect(r).toMatchObject({ nfe: 200, steps: 200, grid: 'uniform', variance: 'beta', batches: 1 });
    const t = r.termsPerDim;
    expect(t.prior + t.diffusion + t.decoder + r.logJacobian / 2).toBeCloseTo(r.natsPerDim, 5);
    const closed = Array.from({ length: 200 }, (_v, i) => -rawLogDensity(TRIANGLE, EPS, a, b, raw.subarray(2 * i, 2 * i + 2))).reduce((s, v) => s + v, 0) / 400;
    expect(r.natsPerDim).toBeGreaterThan(closed - 3 * r.seNatsPerDim);
    expect(r.natsPerDim).toBeLessThan(closed + 0.15);
    score.dispose();
  });

  test('bad input: the field named, one line', () => {
    const sde = makeSDE({ sde: 'vp' });
    const score = mixtureScore(sde, SMALL);
    const x = Float32Array.of(-1, 0.5, 0.3, 0.2);
    expect(() => datasetNll(sde, score, { x, sampleShape: [2] }, { batch: 0 })).toThrow(/^--batch: expected an integer >= 1, got 0$/);
    // The options are checked against NLL_SCHEMA: a bad choice, and a field it does not declare, are refused by name.
    expect(() => datasetNll(sde, score, { x, sampleShape: [2] }, { hutchinson: 'normal' as never })).toThrow(/^--hutchinson: expected one of rademacher, gaussian, got 'normal'$/);
    expect(() => datasetNll(sde, score, { x, sampleShape: [2] }, { probe: 'gaussian' } as never)).toThrow(/^--probe: unknown option; expected one of method, seed, eps/);
    expect(() => datasetNll(sde, score, { x: x.subarray(0, 3), sampleShape: [2] }, { dataName: 'held-out.csv' })).toThrow(/^held-out\.csv: 3 values are not whole rows of the model's 2 values$/);
    expect(() => datasetNll(sde, score, { x, sampleShape: [2] }, { dequantize: true })).toThrow(/^--dequantize: data row 1, column 2 is 0\.5, not one of the 256 levels/);
    score.dispose();
  });
});
