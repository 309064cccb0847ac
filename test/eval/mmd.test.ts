import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { energyDistance, noiseFloor, noiseFloors, rbfMmd2, slicedWasserstein, type Points } from '../../src/eval/metrics.js';
import { medianBandwidth, mmd2 } from '../../src/eval/mmd.js';
import { Rng } from '../../src/random.js';

/** n draws of N(mean, s^2 I). */
function gaussian(n: number, mean: number[], s: number, rng: Rng): Points {
  return Array.from({ length: n }, () => mean.map((m) => m + s * rng.normal()));
}

/**
 * E exp(-|X - Y|^2 / (2 h^2)) for X - Y ~ N(dm, v I) in d dimensions (a Gaussian convolution):
 * (h^2 / (h^2 + v))^(d/2) exp(-|dm|^2 / (2 (h^2 + v))).
 */
function expectedKernel(dm: number[], v: number, h: number): number {
  const sq = dm.reduce((s, x) => s + x * x, 0);
  return (h * h / (h * h + v)) ** (dm.length / 2) * Math.exp(-sq / (2 * (h * h + v)));
}

function meanAndSE(values: number[]): { mean: number; se: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  return { mean, se: sd / Math.sqrt(values.length) };
}

describe('unbiased Gaussian-kernel MMD^2', () => {
  test('matches the closed-form population MMD^2 of two Gaussians (fixed bandwidth) within 3 SE', () => {
    // d = 3: X ~ N(0, I), Y ~ N((0.8, 0, 0), 0.7^2 I), h = 1.5.
    const [s1, s2, h] = [1, 0.7, 1.5];
    const mu2 = [0.8, 0, 0];
    const exact =
      expectedKernel([0, 0, 0], 2 * s1 * s1, h) + expectedKernel([0, 0, 0], 2 * s2 * s2, h) - 2 * expectedKernel(mu2, s1 * s1 + s2 * s2, h);
    const rng = new Rng(21);
    const estimates = Array.from({ length: 30 }, () => mmd2(gaussian(500, [0, 0, 0], s1, rng), gaussian(400, mu2, s2, rng), { bandwidth: h }));
    const { mean, se } = meanAndSE(estimates);
    console.log(`MMD^2 closed form ${exact.toFixed(5)}, mean of 30 estimates ${mean.toFixed(5)} +- ${se.toFixed(5)} (SE)`);
    expect(exact / se).toBeGreaterThan(20); // the check is sharp: SE well under the value
    expect(Math.abs(mean - exact)).toBeLessThan(3 * se);
  });

  test('is unbiased: on two samples of one distribution its mean over repeats is 0 within SE, with negative values', () => {
    const h = 1;
    const [m, n] = [150, 100];
    const rng = new Rng(22);
    const estimates = Array.from({ length: 60 }, () => mmd2(gaussian(m, [1, -1], 1, rng), gaussian(n, [1, -1], 1, rng), { bandwidth: h }));
    const { mean, se } = meanAndSE(estimates);
    // The biased V-statistic would exceed 0 by (1 - E k(X, X')) (1/m + 1/n): the test would see that.
    const vBias = (1 - expectedKernel([0, 0], 2, h)) * (1 / m + 1 / n);
    console.log(`MMD^2 on one distribution: mean ${mean.toExponential(2)} +- ${se.toExponential(2)} (SE); V-statistic bias ${vBias.toExponential(2)}`);
    expect(vBias).toBeGreaterThan(6 * se);
    expect(Math.abs(mean)).toBeLessThan(3 * se);
    expect(estimates.some((e) => e < 0)).toBe(true);
    // With the median bandwidth (data dependent) it stays unbiased to within the SE here.
    const median = Array.from({ length: 30 }, () => mmd2(gaussian(m, [0, 0], 2, rng), gaussian(n, [0, 0], 2, rng)));
    const med = meanAndSE(median);
    expect(Math.abs(med.mean)).toBeLessThan(3 * med.se);
  });

  test('median bandwidth of the pooled sample matches the closed-form median distance', () => {
    // a ~ N(0, I_2), b ~ N(0, 4 I_2), equal sizes: a pooled pair is (a, a), (b, b), (a, b) with
    // probabilities 1/4, 1/4, 1/2, and for X - Y ~ N(0, v I_2), P(|X - Y| <= r) = 1 - exp(-r^2 / 2v).
    const cdf = (r: number) => 1 - (Math.exp(-(r * r) / 4) + Math.exp(-(r * r) / 16) + 2 * Math.exp(-(r * r) / 10)) / 4;
    let [lo, hi] = [0, 10];
    for (let i = 0; i < 100; i++) [lo, hi] = cdf((lo + hi) / 2) < 0.5 ? [(lo + hi) / 2, hi] : [lo, (lo + hi) / 2];
    const exact = (lo + hi) / 2;
    const rng = new Rng(23);
    const values = Array.from({ length: 4 }, (_, seed) => medianBandwidth(gaussian(3000, [0, 0], 1, rng), gaussian(3000, [0, 0], 2, rng), seed));
    const { mean, se } = meanAndSE(values);
    console.log(`pooled median distance ${exact.toFixed(4)} (closed form), estimates ${values.map((v) => v.toFixed(4)).join(' ')}`);
    expect(Math.abs(mean - exact)).toBeLessThan(Math.max(3 * se, 0.01 * exact));
    for (const v of values) expect(Math.abs(v - exact) / exact).toBeLessThan(0.05);
    // One distribution N(0, s^2 I_2): |X - X'|^2 ~ 4 s^2 Exp(1), median distance 2 s sqrt(ln 2).
    const one = medianBandwidth(gaussian(800, [0, 0], 0.5, rng), gaussian(800, [0, 0], 0.5, rng), 1);
    expect(Math.abs(one / Math.sqrt(Math.LN2) - 1)).toBeLessThan(0.04);
  });

  test('host float64 and tensor float32 distances agree, and agree with rbfMmd2 (tensor sums)', () => {
    const rng = new Rng(24);
    for (const d of [2, 40]) {
      const a = gaussian(700, new Array(d).fill(0), 1, rng);
      const b = gaussian(600, [0.3, ...new Array(d - 1).fill(0)], 1.1, rng);
      const h = Math.sqrt(d);
      const host = mmd2(a, b, { bandwidth: h, distances: 'host' });
      const before = tf.memory().numTensors;
      const onTensors = mmd2(a, b, { bandwidth: h, distances: 'tensor' });
      expect(tf.memory().numTensors).toBe(before);
      const reference = rbfMmd2(a, b, h);
      console.log(`d ${d}: host ${host.toExponential(6)}, tensor distances ${onTensors.toExponential(6)}, rbfMmd2 ${reference.toExponential(6)}`);
      expect(Math.abs(host - onTensors)).toBeLessThan(1e-6);
      expect(Math.abs(host - reference)).toBeLessThan(1e-4);
    }
  });

  test('the subset cap keeps it unbiased: capped estimates over seeds average to the full one', () => {
    const rng = new Rng(25);
    const a = gaussian(2000, [0, 0], 1, rng);
    const b = gaussian(2000, [0.4, 0], 1, rng);
    const full = mmd2(a, b, { bandwidth: 1 });
    const capped = Array.from({ length: 20 }, (_, seed) => mmd2(a, b, { bandwidth: 1, maxPoints: 300, seed }));
    const { mean, se } = meanAndSE(capped);
    console.log(`cap 300 of 2000: mean ${mean.toFixed(5)} +- ${se.toFixed(5)}, full ${full.toFixed(5)}`);
    expect(Math.abs(mean - full)).toBeLessThan(3 * se);
    expect(mmd2(a, b, { bandwidth: 1, maxPoints: 300, seed: 3 })).toBe(capped[3]);
    expect(new Set(capped).size).toBe(capped.length);
    expect(() => mmd2([[0, 0], [1, 1]], [[0], [1]])).toThrow(/one dimension/);
  });
});

describe('noise floors from reference draws', () => {
  test('a metric of known floor: |mean(a) - mean(b)|^2 of two N(mu, s^2 I_D) sets of n has mean 2 D s^2 / n', () => {
    const [n, s, dims] = [200, 1.5, 3];
    const draw = (seed: number) => gaussian(n, [1, 2, 3], s, new Rng(seed));
    const meanGap = (a: Points, b: Points) => {
      const mean = (p: Points) => p[0].map((_, j) => p.reduce((acc, row) => acc + row[j], 0) / p.length);
      const [ma, mb] = [mean(a), mean(b)];
      return ma.reduce((acc, v, j) => acc + (v - mb[j]) ** 2, 0);
    };
    const floor = noiseFloor(meanGap, draw, 40, 3);
    const exact = (2 * dims * s * s) / n;
    console.log(`mean-gap floor ${floor.mean.toFixed(5)} [${floor.lower.toFixed(5)}, ${floor.upper.toFixed(5)}], closed form ${exact.toFixed(5)}`);
    expect(floor.values).toHaveLength(40);
    expect(floor.lower).toBeLessThan(exact);
    expect(floor.upper).toBeGreaterThan(exact);
    // The interval is the t-interval of the values; the same seed gives the same floor.
    expect(floor.halfWidth).toBeCloseTo((2.022691 * floor.sd) / Math.sqrt(40), 6); // t_{0.975, 39}
    expect(noiseFloor(meanGap, draw, 40, 3).values).toEqual(floor.values);
  });

  test('MMD^2 and energy distance (unbiased) have floors whose intervals hold 0; all metrics see the same pairs', () => {
    const draw = (seed: number) => gaussian(400, [0, 0], 1, new Rng(seed));
    const seen: Points[][] = [];
    const floors = noiseFloors(
      {
        mmd: (a, b) => mmd2(a, b),
        energy: energyDistance,
        sw2: (a, b) => slicedWasserstein(a, b, 64, 1),
        pair: (a, b) => (seen.push([a, b]), 0),
      },
      draw,
      12,
    );
    for (const name of ['mmd', 'energy'] as const) {
      console.log(`${name} floor ${floors[name].mean.toExponential(2)} [${floors[name].lower.toExponential(2)}, ${floors[name].upper.toExponential(2)}]`);
      expect(floors[name].lower).toBeLessThan(0);
      expect(floors[name].upper).toBeGreaterThan(0);
    }
    console.log(`sw2 floor ${floors.sw2.mean.toExponential(2)} [${floors.sw2.lower.toExponential(2)}, ${floors.sw2.upper.toExponential(2)}]`);
    expect(floors.sw2.lower).toBeGreaterThan(0);
    expect(seen).toHaveLength(12);
    expect(seen[0][0]).not.toEqual(seen[0][1]);
    expect(mmd2(seen[5][0], seen[5][1])).toBe(floors.mmd.values[5]);
  });
});
