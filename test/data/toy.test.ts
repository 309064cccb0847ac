import { describe, expect, it } from 'vitest';
import { denormalize, fitNormalization, normalize, standardize } from '../../src/data/dataset.js';
import { mixSeed, Rng } from '../../src/random.js';
import { parseToyName, TOY_DATASETS, TOY_STANDARDIZATION, toyDataset, toyRaw } from '../../src/data/toy.js';
import { UsageError } from '../../src/errors.js';

describe('Rng', () => {
  it('is seeded and reproducible, with uniform and normal moments within Monte Carlo error', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 5 }, () => a.nextUint32());
    expect(xa).toEqual(Array.from({ length: 5 }, () => b.nextUint32()));
    expect(xa).not.toEqual(Array.from({ length: 5 }, () => c.nextUint32()));
    const n = 200_000;
    const r = new Rng(7);
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    for (let i = 0; i < n; i++) {
      su += r.next();
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    expect(Math.abs(su / n - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(sn / n)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
    for (const k of counts) expect(Math.abs(k - 10_000)).toBeLessThan(4 * Math.sqrt(10_000));
    expect(Array.from(new Rng(1).permutation(10)).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('mixSeed separates steps and streams', () => {
    const seeds = new Set<number>();
    for (let s = 0; s < 10; s++) for (let step = 0; step < 1000; step++) seeds.add(mixSeed(s, step));
    expect(seeds.size).toBe(10_000);
    expect(mixSeed(1, 2)).not.toBe(mixSeed(2, 1));
  });
});

describe('built-in 2-D sets', () => {
  for (const name of TOY_DATASETS) {
    it(`${name}: seeded, and standardized by the exact moments to zero mean and unit variance`, () => {
      const n = 40_000;
      const ds = toyDataset(name, n, 1);
      expect(ds.shape).toEqual([2]);
      expect(ds.x.length).toBe(2 * n);
      expect(toyDataset(name, 100, 1).x).toEqual(toyDataset(name, 100, 1).x);
      expect(toyDataset(name, 100, 2).x).not.toEqual(toyDataset(name, 100, 1).x);
      const fit = fitNormalization(ds.x, n, 2);
      for (let d = 0; d < 2; d++) {
        // Standard errors: 1/sqrt(n) for the mean; the std's is below 2/sqrt(n) for these bounded-kurtosis sets.
        expect(Math.abs(fit.mean[d])).toBeLessThan(4 / Math.sqrt(n));
        expect(Math.abs(fit.std[d] - 1)).toBeLessThan(8 / Math.sqrt(n));
      }
      // The exported standardization maps the points back to the raw generator's output.
      const back = denormalize(ds.x, ds.normalization, 2);
      const raw = toyRaw(name, n, 1);
      for (let i = 0; i < 200; i++) expect(Math.abs(back[i] - raw[i])).toBeLessThan(1e-5 * (1 + Math.abs(raw[i])));
      expect(ds.normalization).toEqual(TOY_STANDARDIZATION[name]);
    });
  }

  it('unknown names are UsageErrors naming --data', () => {
    expect(() => parseToyName('spiral')).toThrow(UsageError);
    expect(() => parseToyName('spiral')).toThrow(/^--data: unknown data set 'spiral'/);
  });

  it('standardize() fits and exports the map for any data', () => {
    const raw = Float32Array.from([1, 10, 3, 20, 5, 30]);
    const ds = standardize({ name: 'f', n: 3, shape: [2], x: raw, normalization: { mean: [0], std: [1] } });
    expect(ds.normalization.mean).toEqual([3, 20]);
    expect(ds.normalization.std[0]).toBeCloseTo(Math.sqrt(8 / 3), 12);
    expect(Array.from(denormalize(ds.x, ds.normalization, 2)).map((v) => Math.round(v * 1e4) / 1e4)).toEqual(Array.from(raw));
    expect(Array.from(normalize([3, 20], ds.normalization, 2))).toEqual([0, 0]);
  });
});
