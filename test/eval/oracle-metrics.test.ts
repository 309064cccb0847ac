import { describe, expect, test } from 'vitest';
import type { Points } from '../../src/eval/metrics.js';
import { oracleMetrics } from '../../src/eval/oracle-metrics.js';
import { assignComponents, sampleMixture, type GaussianMixture } from '../../src/oracle/index.js';

/** Four components on the corners of a square (side 8), unequal weights and stds: overlap below 1e-6. */
const SQUARE: GaussianMixture = {
  weights: [0.1, 0.2, 0.3, 0.4],
  means: [[4, 4], [-4, 4], [-4, -4], [4, -4]],
  stds: [0.3, 0.5, 0.7, 0.4],
};
const D = 2;

/** Draws of the mixture as host points, with the component each came from. */
function draws(mix: GaussianMixture, n: number, seed: number): { points: Points; components: Int32Array } {
  const { x, components } = sampleMixture(mix, n, seed);
  const points = x.arraySync();
  x.dispose();
  return { points, components };
}

describe('component assignment by exact responsibility (src/oracle assignComponents, used by oracleMetrics)', () => {
  test('puts the boundary where the closed form does (weights and stds count)', () => {
    // 1-D, s = 1, means 0 and 2, weights 0.8 / 0.2: log 0.8 - x^2/2 = log 0.2 - (x - 2)^2/2 at x = 1 + ln(4)/2.
    const shifted: GaussianMixture = { weights: [0.8, 0.2], means: [[0], [2]], stds: [1, 1] };
    const xb = 1 + Math.log(4) / 2;
    expect(Array.from(assignComponents(shifted, [[xb - 1e-9], [xb + 1e-9], [1.5]]))).toEqual([0, 1, 0]);
    // 2-D, one mean, stds 1 and 2, equal weights: -r^2/2 = -2 ln 2 - r^2/8 at r^2 = 2 ln 2 / 0.375.
    const nested: GaussianMixture = { weights: [0.5, 0.5], means: [[0, 0], [0, 0]], stds: [1, 2] };
    const rb = Math.sqrt((D * Math.LN2) / 0.375);
    expect(Array.from(assignComponents(nested, [[rb - 1e-9, 0], [0, -(rb + 1e-9)], [0, 0]]))).toEqual([0, 1, 0]);
    // A component of weight 0 is never chosen, even at its own mean.
    const dead: GaussianMixture = { weights: [1, 0], means: [[0], [5]], stds: [1, 1] };
    expect(Array.from(assignComponents(dead, [[5]]))).toEqual([0]);
  });
});

describe('oracle metrics', () => {
  test('on draws of the mixture itself: errors of the size sampling gives', () => {
    const R = 4;
    const n = 5000;
    const K = SQUARE.weights.length;
    let meanStat = 0; // sum of |mean error|^2 n_k / s_k^2, each ~ chi^2_D
    let covStat = 0; // sum of ||S - s^2 I||_F^2 (n_k - 1) / (s^4 D (D + 1)), each of mean 1
    let tvSum = 0;
    for (let r = 0; r < R; r++) {
      const { points, components } = draws(SQUARE, n, 100 + r);
      expect(Array.from(assignComponents(SQUARE, points))).toEqual(Array.from(components));
      const m = oracleMetrics(SQUARE, points);
      m.components.forEach((c, k) => {
        const s2 = SQUARE.stds[k] ** 2;
        meanStat += (c.meanError! ** 2 * c.count) / s2;
        covStat += (c.covarianceError! ** 2 * (c.count - 1)) / (s2 * s2 * D * (D + 1));
      });
      tvSum += m.modeWeightTV;
      expect(m.maxMeanError).toBe(Math.max(...m.components.map((c) => c.meanError!)));
    }
    // Multinomial fractions: E|f_k - w_k| ~ sqrt(2 w_k (1 - w_k) / (pi n)).
    const expectedTV = SQUARE.weights.reduce((a, w) => a + Math.sqrt((2 * w * (1 - w)) / (Math.PI * n)), 0) / 2;
    const terms = R * K;
    console.log(
      `exact draws (${R} x ${n}): mean-error chi^2 ${meanStat.toFixed(1)} (expected ${terms * D}), ` +
        `covariance-error sum ${covStat.toFixed(1)} (expected ${terms}), mean TV ${(tvSum / R).toExponential(2)} (expected ${expectedTV.toExponential(2)})`,
    );
    // meanStat ~ chi^2 with R K D = 32 df (sd 8); covStat: each term is (2 chi2_1 + 2 chi2_1 + 2 chi2_1) / 6 asymptotically, variance 2/3.
    expect(Math.abs(meanStat - terms * D)).toBeLessThan(3 * Math.sqrt(2 * terms * D));
    expect(Math.abs(covStat - terms)).toBeLessThan(3 * Math.sqrt((terms * 2) / 3));
    expect(tvSum / R).toBeLessThan(2.5 * expectedTV);
    expect(tvSum / R).toBeGreaterThan(0.3 * expectedTV);
  });

  test('on a wrong sampler (wrong weights, draws scaled by c): the closed-form errors', () => {
    // y from the mixture with weights v, x = c y: component k has mean c mu_k and covariance c^2 s_k^2 I.
    const v = [0.25, 0.25, 0.25, 0.25];
    const c = 1.15;
    const n = 20000;
    const { points } = draws({ ...SQUARE, weights: v }, n, 7);
    const m = oracleMetrics(SQUARE, points.map((p) => p.map((x) => c * x)));
    const gaps = v.map((vk, k) => Math.abs(vk - SQUARE.weights[k]));
    const tvNoise = v.reduce((a, vk) => a + Math.sqrt((vk * (1 - vk)) / n), 0) / 2;
    expect(Math.abs(m.modeWeightTV - gaps.reduce((a, g) => a + g, 0) / 2)).toBeLessThan(4 * tvNoise);
    expect(Math.abs(m.modeWeightMaxError - Math.max(...gaps))).toBeLessThan(4 * Math.sqrt(0.25 * 0.75 / n));
    m.components.forEach((comp, k) => {
      const s = SQUARE.stds[k];
      const nk = comp.count;
      const meanExact = (c - 1) * Math.hypot(...SQUARE.means[k]);
      const covExact = Math.abs(c * c - 1) * s * s * Math.sqrt(D);
      // Sampling rms errors of the mean (c s sqrt(D / n_k)) and of the covariance (c^2 s^2 sqrt(D (D + 1) / (n_k - 1))).
      const meanNoise = c * s * Math.sqrt(D / nk);
      const covNoise = c * c * s * s * Math.sqrt((D * (D + 1)) / (nk - 1));
      console.log(`component ${k}: mean error ${comp.meanError!.toFixed(4)} (closed form ${meanExact.toFixed(4)}), covariance error ${comp.covarianceError!.toFixed(4)} (${covExact.toFixed(4)})`);
      expect(Math.abs(comp.meanError! - meanExact)).toBeLessThan(4 * meanNoise);
      expect(Math.abs(comp.covarianceError! - covExact)).toBeLessThan(4 * covNoise);
    });
    console.log(`wrong weights: TV ${m.modeWeightTV.toFixed(4)} (closed form 0.2), max ${m.modeWeightMaxError.toFixed(4)} (0.15)`);
  });

  test('components with too few points report null errors', () => {
    const m = oracleMetrics(SQUARE, [[4, 4], [4.1, 3.9], [-4, 4]]);
    expect(m.components.map((c) => c.count)).toEqual([2, 1, 0, 0]);
    expect(m.components[1].covarianceError).toBeNull();
    expect(m.components[2].meanError).toBeNull();
    expect(m.fractions).toEqual([2 / 3, 1 / 3, 0, 0]);
    expect(m.modeWeightTV).toBeCloseTo((Math.abs(2 / 3 - 0.1) + Math.abs(1 / 3 - 0.2) + 0.3 + 0.4) / 2, 14);
    expect(() => oracleMetrics(SQUARE, [[1, 2, 3]])).toThrow(/3 coordinates, the mixture 2/);
  });
});
