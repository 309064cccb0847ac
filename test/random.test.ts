import { describe, expect, test } from 'vitest';
import { mixSeed, normalArray, normalRng, Rng, uniformRng } from '../src/random.js';
import { normalTensor, seededNoise } from '../src/solvers/common.js';

// The one generator (src/random.ts): sfc32 seeded through splitmix32, seeds derived by mixSeed.

describe('the seeded generator', () => {
  test('the same seed gives the same stream, another seed another', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(sa);
    const sc = Array.from({ length: 100 }, () => c.nextUint32());
    expect(sc.filter((v, i) => v === sa[i]).length).toBeLessThan(3);
  });

  test('the function forms and normalArray are the streams of new Rng(seed)', () => {
    const u = uniformRng(7);
    const r = new Rng(7);
    for (let i = 0; i < 20; i++) expect(u()).toBe(r.next());
    const z = normalRng(7);
    const rz = new Rng(7);
    for (let i = 0; i < 21; i++) expect(z()).toBe(rz.normal());
    expect(Array.from(normalArray(9, 7))).toEqual(Array.from(new Rng(7).fillNormal(new Float32Array(9))));
    // fillNormal continues the stream of normal(), whatever the lengths (odd ones leave a spare).
    const filled = new Rng(3);
    const single = new Rng(3);
    for (const len of [3, 1, 4, 0, 5, 2]) {
      const got = filled.fillNormal(new Float64Array(len));
      expect(Array.from(got)).toEqual(Array.from({ length: len }, () => single.normal()));
    }
  });

  test('mixSeed: different parts, orders and lengths give different seeds; the same parts the same', () => {
    const seeds = new Set<number>();
    for (let s = 0; s < 20; s++) for (let k = 0; k < 20; k++) seeds.add(mixSeed(s, k));
    expect(seeds.size).toBe(400);
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
    expect(mixSeed(1)).not.toBe(mixSeed(1, 0));
    expect(mixSeed(2 ** 40 + 3, 5)).not.toBe(mixSeed(3, 5));
    expect(mixSeed(0.5)).not.toBe(mixSeed(0));
    expect(mixSeed(9, 1, 2)).toBe(mixSeed(9, 1, 2));
    expect(() => mixSeed(Number.NaN)).toThrow(/finite/);
  });

  test('normals at a fixed seed have mean ~0 and variance ~1; uniforms lie in [0, 1) with mean ~1/2', () => {
    const n = 200_000;
    const z = normalArray(n, 123);
    let mean = 0;
    for (const v of z) mean += v / n;
    let variance = 0;
    for (const v of z) variance += (v - mean) ** 2 / (n - 1);
    // Standard errors: 1/sqrt(n) = 0.0022 for the mean, sqrt(2/n) = 0.0032 for the variance; 5 of them.
    expect(Math.abs(mean)).toBeLessThan(0.011);
    expect(Math.abs(variance - 1)).toBeLessThan(0.016);
    const r = new Rng(5);
    let sum = 0;
    let [lo, hi] = [1, 0];
    for (let i = 0; i < n; i++) {
      const u = r.next();
      [lo, hi] = [Math.min(lo, u), Math.max(hi, u)];
      sum += u / n;
    }
    expect(lo >= 0 && hi < 1).toBe(true);
    expect(Math.abs(sum - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
  });

  test('the solver noise streams derive their seeds by mixSeed', () => {
    const noise = seededNoise(11);
    const a = noise([3, 4], 5, 1);
    const b = normalTensor([3, 4], mixSeed(11, 2, 5, 1));
    const c = noise([3, 4], 5, 0);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(c.dataSync())).not.toEqual(Array.from(a.dataSync()));
    [a, b, c].forEach((t) => t.dispose());
  });
});
