import { describe, expect, test } from 'vitest';
import { meanInterval, pairedDifferenceInterval, studentTCdf, studentTQuantile } from '../../src/eval/intervals.js';
import { Rng } from '../../src/random.js';

// Closed-form Student t quantiles for df = 1, 2, 4 (inverting the CDFs, which are elementary there).
const tQuantile1 = (p: number) => Math.tan(Math.PI * (p - 0.5));
const tQuantile2 = (p: number) => (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
function tQuantile4(p: number): number {
  const alpha = 4 * p * (1 - p);
  const q = Math.cos(Math.acos(Math.sqrt(alpha)) / 3) / Math.sqrt(alpha);
  return Math.sign(p - 0.5) * 2 * Math.sqrt(q - 1);
}

describe('Student t quantiles', () => {
  test('match the closed forms for df = 1, 2, 4 to 1e-12 (relative)', () => {
    let worst = 0;
    for (const p of [0.001, 0.025, 0.1, 0.3, 0.6, 0.9, 0.975, 0.995, 0.9995]) {
      for (const [df, exact] of [[1, tQuantile1(p)], [2, tQuantile2(p)], [4, tQuantile4(p)]] as const) {
        const err = Math.abs(studentTQuantile(p, df) - exact) / Math.abs(exact);
        worst = Math.max(worst, err);
        expect(err, `p ${p} df ${df}`).toBeLessThan(1e-12);
      }
    }
    console.log(`t quantile, df 1/2/4: worst relative error vs closed form ${worst.toExponential(2)}`);
  });

  test('match published table values (6 decimals) and the large-df expansion', () => {
    // Standard two-sided 95% / 99% table values.
    const table: [number, number, number][] = [
      [0.975, 9, 2.262157], [0.975, 3, 3.182446], [0.975, 5, 2.570582], [0.975, 10, 2.228139],
      [0.975, 19, 2.093024], [0.975, 30, 2.042272], [0.995, 5, 4.032143], [0.995, 29, 2.756386],
    ];
    for (const [p, df, value] of table) expect(Math.abs(studentTQuantile(p, df) - value), `t_{${p}, ${df}}`).toBeLessThan(6e-7);
    // Cornish-Fisher: t = z + (z^3 + z) / (4 df) + (5 z^5 + 16 z^3 + 3 z) / (96 df^2) + O(df^-3).
    const z = 1.959963984540054;
    for (const df of [2000, 10000]) {
      const expansion = z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
      expect(Math.abs(studentTQuantile(0.975, df) - expansion)).toBeLessThan(1e-9);
    }
    expect(studentTQuantile(0.5, 7)).toBe(0);
    expect(studentTQuantile(0.025, 9)).toBeCloseTo(-2.262157, 6);
  });

  test('CDF and quantile invert each other (|t| <= 5, where the CDF is well conditioned); the CDF of df = 1 is the Cauchy CDF', () => {
    for (const df of [1, 2, 3, 8, 25, 101]) {
      for (const t of [-5, -1.3, 0, 0.4, 2.7, 4.5]) expect(studentTQuantile(studentTCdf(t, df), df)).toBeCloseTo(t, 9);
    }
    for (const t of [-3, -0.5, 0.7, 9]) expect(studentTCdf(t, 1)).toBeCloseTo(0.5 + Math.atan(t) / Math.PI, 14);
    expect(() => studentTQuantile(0.975, 0)).toThrow(/degrees of freedom/);
    expect(() => studentTQuantile(1, 5)).toThrow(/p must be/);
  });
});

describe('mean and paired-difference intervals', () => {
  test('1..10: mean 5.5, sd sqrt(55/6), half-width t_{0.975,9} sd / sqrt(10)', () => {
    const values = Array.from({ length: 10 }, (_, i) => i + 1);
    const r = meanInterval(values);
    const sd = Math.sqrt(55 / 6); // sum (i - 5.5)^2 = 82.5, / 9
    expect(r.mean).toBe(5.5);
    expect(r.sd).toBeCloseTo(sd, 12);
    expect(r.halfWidth).toBeCloseTo((2.262157 * sd) / Math.sqrt(10), 5);
    expect(r.lower).toBeCloseTo(5.5 - r.halfWidth, 12);
    expect(r.upper).toBeCloseTo(5.5 + r.halfWidth, 12);
    const one = meanInterval([3]);
    expect(one.mean).toBe(3);
    expect(Number.isNaN(one.halfWidth)).toBe(true);
  });

  test('coverage of the 95% t-interval with n = 5 normal values is 0.95 (a normal quantile would give 0.88)', () => {
    const rng = new Rng(11);
    const trials = 4000;
    let covered = 0;
    for (let i = 0; i < trials; i++) {
      const r = meanInterval(Array.from({ length: 5 }, () => 2 + 3 * rng.normal()));
      if (r.lower <= 2 && 2 <= r.upper) covered++;
    }
    const rate = covered / trials;
    console.log(`t-interval coverage, n = 5, ${trials} trials: ${rate.toFixed(4)} (binomial SE 0.0034)`);
    expect(Math.abs(rate - 0.95)).toBeLessThan(4 * Math.sqrt((0.95 * 0.05) / trials));
  });

  test('paired difference: a shared per-seed part cancels, leaving the interval of the differences', () => {
    const rng = new Rng(5);
    const K = 10;
    // Per-seed level varies a lot (sd 1); the solvers differ by 0.05 with independent noise sd 0.01.
    const shared = Array.from({ length: K }, () => rng.normal());
    const a = shared.map((s) => 3 + s + 0.01 * rng.normal());
    const b = shared.map((s) => 3.05 + s + 0.01 * rng.normal());
    const paired = pairedDifferenceInterval(a, b);
    const diffs = a.map((v, i) => v - b[i]);
    expect(paired.mean).toBeCloseTo(diffs.reduce((x, y) => x + y, 0) / K, 14);
    expect(paired.halfWidth).toBeCloseTo(meanInterval(diffs).halfWidth, 14);
    expect(paired.lower).toBeLessThan(-0.05);
    expect(paired.upper).toBeGreaterThan(-0.05);
    expect(paired.excludesZero).toBe(true);
    // Unpaired, the two means' intervals overlap: they cannot tell the solvers apart.
    const ia = meanInterval(a);
    const ib = meanInterval(b);
    expect(ia.upper > ib.lower && ib.upper > ia.lower).toBe(true);
    console.log(`paired half-width ${paired.halfWidth.toExponential(2)} vs unpaired ${ia.halfWidth.toExponential(2)}`);
    // A constant difference has a zero-width interval at that constant.
    const c = pairedDifferenceInterval([1, 2, 4], [0.5, 1.5, 3.5]);
    expect([c.mean, c.halfWidth]).toEqual([0.5, 0]);
    expect(() => pairedDifferenceInterval([1, 2], [1])).toThrow(/one length/);
  });
});
