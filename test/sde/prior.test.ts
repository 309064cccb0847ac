import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { makeSDE, type SDEConfig } from '../../src/sde/index.js';
import { rng, take } from './reference.js';

/** log N(z; 0, s^2 I) per sample, in float64: sum_j [-z_j^2 / (2 s^2) - log(s) - log(2 pi)/2]. */
function logDensity(z: number[], s: number): number {
  return z.reduce((acc, v) => acc - (v * v) / (2 * s * s) - Math.log(s) - 0.5 * Math.log(2 * Math.PI), 0);
}

const CASES: [string, Partial<SDEConfig>, number][] = [
  ['VP', { sde: 'vp' }, 1],
  ['sub-VP', { sde: 'subvp' }, 1],
  ['VE (0.01, 50)', { sde: 've' }, Math.sqrt(50 ** 2 - 0.01 ** 2)],
  ['VE (0.1, 5)', { sde: 've', sigmaMin: 0.1, sigmaMax: 5 }, Math.sqrt(5 ** 2 - 0.1 ** 2)],
];

describe.each(CASES)('%s prior N(0, s^2 I)', (_label, config, s) => {
  const sde = makeSDE(config);

  test.each([[[6]], [[6, 3]], [[6, 2, 2]], [[2, 1, 4, 4]]])('priorLogProb on shape %j is the float64 Gaussian log-density per sample', (shape) => {
    const u = rng(41);
    const size = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: size }, () => Math.fround(s * 3 * (2 * u() - 1)));
    const z = tf.tensor(values, shape);
    const got = sde.priorLogProb(z);
    expect(got.shape).toEqual([shape[0]]);
    const g = take(got);
    const per = size / shape[0];
    for (let b = 0; b < shape[0]; b++) {
      const want = logDensity(values.slice(b * per, (b + 1) * per), s);
      // float32: relative error ~1e-6 on each of the O(per) summed terms
      expect(Math.abs(g[b] - want)).toBeLessThanOrEqual(1e-5 * Math.abs(want) + 1e-5);
    }
    z.dispose();
  });

  test('priorSample: shape, mean 0 and std s within 4 standard errors; a seed reproduces it', () => {
    const n = 40_000;
    const x = sde.priorSample([n / 4, 4], 7);
    expect(x.shape).toEqual([n / 4, 4]);
    const v = x.dataSync();
    let sum = 0;
    for (const a of v) sum += a;
    const mean = sum / n;
    let ss = 0;
    for (const a of v) ss += (a - mean) ** 2;
    const std = Math.sqrt(ss / (n - 1));
    expect(Math.abs(mean)).toBeLessThan((4 * s) / Math.sqrt(n));
    expect(Math.abs(std - s)).toBeLessThan((4 * s) / Math.sqrt(2 * n));
    x.dispose();
    const first = take(sde.priorSample([100, 4], 7));
    expect(take(sde.priorSample([100, 4], 7))).toEqual(first);
    expect(take(sde.priorSample([100, 4], 8))).not.toEqual(first);
  });
});
