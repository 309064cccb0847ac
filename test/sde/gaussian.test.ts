import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { discretizedGaussianLogLikelihood, normalKL } from '../../src/sde/index.js';
import { erf, erfc, expectClose, normalMass, rng, take } from './reference.js';

// Every tensor a test makes is disposed when it ends.
beforeEach(() => tf.engine().startScope());
afterEach(() => tf.engine().endScope());

describe('reference erf/erfc (sanity of the test oracle itself)', () => {
  test('known values', () => {
    // Abramowitz & Stegun table 7.1 / high-precision values
    expect(Math.abs(erf(0.5) - 0.5204998778130465)).toBeLessThan(1e-15);
    expect(Math.abs(erf(1) - 0.8427007929497149)).toBeLessThan(1e-15);
    expect(Math.abs(erf(2) - 0.9953222650189527)).toBeLessThan(1e-15);
    expect(Math.abs(erfc(3) / 2.209049699858544e-5 - 1)).toBeLessThan(1e-13);
    expect(Math.abs(erfc(5) / 1.5374597944280349e-12 - 1)).toBeLessThan(1e-13);
    expect(Math.abs(erfc(10) / 2.088487583762545e-45 - 1)).toBeLessThan(1e-13);
    // continuity where the two methods meet
    expect(Math.abs(erfc(2.5) / erfc(2.5 + 1e-12) - 1)).toBeLessThan(1e-10);
  });
});

describe('normalKL', () => {
  /** KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2/s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2. */
  function kl(m1: number, lv1: number, m2: number, lv2: number): number {
    const s1 = Math.exp(lv1 / 2);
    const s2 = Math.exp(lv2 / 2);
    return Math.log(s2 / s1) + (s1 * s1 + (m1 - m2) ** 2) / (2 * s2 * s2) - 0.5;
  }

  test('matches the closed form elementwise, in nats', () => {
    const u = rng(5);
    const n = 200;
    const m1 = Array.from({ length: n }, () => Math.fround(4 * u() - 2));
    const m2 = Array.from({ length: n }, () => Math.fround(4 * u() - 2));
    const lv1 = Array.from({ length: n }, () => Math.fround(6 * u() - 4));
    const lv2 = Array.from({ length: n }, () => Math.fround(6 * u() - 4));
    const got = take(normalKL(tf.tensor1d(m1), tf.tensor1d(lv1), tf.tensor1d(m2), tf.tensor1d(lv2)));
    const want = m1.map((_, i) => kl(m1[i], lv1[i], m2[i], lv2[i]));
    // float32 terms of size up to exp(|lv1 - lv2|) and (m1 - m2)^2 exp(-lv2) cancel: absolute error ~1e-6 of them
    const scale = m1.map((_, i) => Math.exp(lv1[i] - lv2[i]) + (m1[i] - m2[i]) ** 2 * Math.exp(-lv2[i]) + Math.abs(lv1[i] - lv2[i]) + 1);
    for (let i = 0; i < n; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(1e-5 * want[i] + 1e-6 * scale[i]);
    for (const v of got) expect(v).toBeGreaterThanOrEqual(-1e-6);
  });

  test('zero for equal Gaussians; broadcasting a scalar second argument', () => {
    const m = tf.tensor2d([[0.3, -1], [2, 0]]);
    const lv = tf.tensor2d([[-1, 0.5], [0, -3]]);
    expectClose(take(normalKL(m, lv, m, lv)), [0, 0, 0, 0], 0, 1e-7, 'KL(p || p)');
    const got = normalKL(m, lv, tf.scalar(0), tf.scalar(0));
    expect(got.shape).toEqual([2, 2]);
    const want = [
      [0.3, -1],
      [2, 0],
    ].flatMap((row, r) => row.map((mi, c) => kl(mi, [[-1, 0.5], [0, -3]][r][c], 0, 0)));
    expectClose(take(got), want, 1e-5, 1e-6, 'KL to N(0, 1)');
    m.dispose();
    lv.dispose();
  });
});

describe('discretizedGaussianLogLikelihood (Ho et al. L_0, 256 bins on [-1, 1])', () => {
  const BINS = 256;
  const grid = Array.from({ length: BINS }, (_, k) => -1 + (2 * k) / (BINS - 1));
  const half = 1 / (BINS - 1);
  /**
   * tf.erf is Abramowitz-Stegun 7.1.26 (|error| <= 1.5e-7) in float32, so each CDF value is off by
   * up to ~1e-7 absolute and a bin of mass P has log error up to ~2e-7/P, on top of float32
   * rounding of the log itself (~1e-7 relative). Measured: under 10% of this bound.
   */
  const logTol = (mass: number) => 1e-6 + 1e-7 * Math.abs(Math.log(mass)) + 2e-7 / mass;

  /** log P(bin of x) under N(mean, s^2): the bin [x - half, x + half], the edge bins open to -inf / +inf. */
  function logMass(x: number, mean: number, s: number): number {
    const lo = x <= -1 + 1e-9 ? -Infinity : (x - half - mean) / s;
    const hi = x >= 1 - 1e-9 ? Infinity : (x + half - mean) / s;
    return Math.log(normalMass(lo, hi));
  }

  // (mean, log scale): central, wide, narrow at an edge bin, beyond each edge
  const CASES: [number, number][] = [
    [0.1, Math.log(0.05)],
    [-0.7, Math.log(0.3)],
    [0.95, Math.log(0.01)],
    [-1.2, Math.log(0.2)],
    [1.1, Math.log(0.5)],
    [0, Math.log(2)],
  ];

  test.each(CASES)('mean %f, log-scale %f: every bin equals log of the float64 Gaussian mass; masses sum to 1', (mean, logScale) => {
    const s = Math.exp(logScale);
    const x = tf.tensor1d(grid);
    const got = take(discretizedGaussianLogLikelihood(x, tf.fill([BINS], mean), tf.fill([BINS], logScale)));
    x.dispose();
    const xs = Array.from(tf.tensor1d(grid).dataSync());
    let checked = 0;
    for (let k = 0; k < BINS; k++) {
      const want = logMass(grid[k], Math.fround(mean), Math.fround(s));
      expect(Number.isNaN(want)).toBe(false);
      const mass = Math.exp(want);
      // bins under 1e-4 are only checked to be small (see logTol)
      if (mass >= 1e-4) {
        expect(Math.abs(got[k] - want), `bin ${k} (x = ${xs[k]}), mass ${mass}`).toBeLessThanOrEqual(logTol(mass));
        checked++;
      } else {
        expect(got[k]).toBeLessThan(Math.log(2e-4));
      }
      expect(got[k]).toBeLessThanOrEqual(1e-6);
    }
    expect(checked).toBeGreaterThan(0);
    const total = got.reduce((acc, v) => acc + Math.exp(v), 0);
    // measured |sum - 1| <= 3e-7
    expect(Math.abs(total - 1)).toBeLessThan(2e-6);
  });

  test('the edge bins x = -1 and x = 1 take the whole tail', () => {
    const mean = 0.2;
    const logScale = Math.log(0.6);
    const s = Math.fround(Math.exp(logScale));
    const got = take(discretizedGaussianLogLikelihood(tf.tensor1d([-1, 1]), tf.scalar(mean), tf.scalar(logScale)));
    // P(X < -1 + 1/255) and P(X > 1 - 1/255)
    const wantLow = Math.log(0.5 * erfc(-((-1 + half - Math.fround(mean)) / s) / Math.SQRT2));
    const wantHigh = Math.log(0.5 * erfc((1 - half - Math.fround(mean)) / s / Math.SQRT2));
    for (const [g, w] of [[got[0], wantLow], [got[1], wantHigh]]) expect(Math.abs(g - w)).toBeLessThanOrEqual(logTol(Math.exp(w)));
    // the inner neighbours are ordinary bins
    const inner = take(discretizedGaussianLogLikelihood(tf.tensor1d([grid[1], grid[254]]), tf.scalar(mean), tf.scalar(logScale)));
    const wantInner = [logMass(grid[1], Math.fround(mean), s), logMass(grid[254], Math.fround(mean), s)];
    for (let k = 0; k < 2; k++) expect(Math.abs(inner[k] - wantInner[k])).toBeLessThanOrEqual(logTol(Math.exp(wantInner[k])));
  });

  test('elementwise over images: shape [batch, h, w] is kept', () => {
    const x = tf.tensor3d(grid.slice(0, 8), [2, 2, 2]);
    const out = discretizedGaussianLogLikelihood(x, tf.zerosLike(x), tf.fill([2, 2, 2], Math.log(0.5)));
    expect(out.shape).toEqual([2, 2, 2]);
    const want = grid.slice(0, 8).map((v) => logMass(v, 0, 0.5));
    const got = take(out);
    for (let k = 0; k < 8; k++) expect(Math.abs(got[k] - want[k])).toBeLessThanOrEqual(logTol(Math.exp(want[k])));
    x.dispose();
  });
});
