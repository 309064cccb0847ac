import * as tf from '@tensorflow/tfjs';
import { expect, test } from 'vitest';
import { mixtureScore } from '../../src/oracle/index.js';
import { normalArray } from '../../src/random.js';
import { makeSDE } from '../../src/sde/index.js';
import { integrate, type NoiseSampler } from '../../src/solvers/index.js';
import { MU, S0 } from './helpers.js';

// The linear VP-SDE (beta 0.1 .. 20 on [0, 1]) and Gaussian data N(MU, S0^2), in float64.
const beta = (t: number) => 0.1 + 19.9 * t;
const meanAt = (t: number) => Math.exp(-(0.1 * t + (19.9 * t * t) / 2) / 2);
const score = (x: number, t: number) => {
  const m = meanAt(t);
  return -(x - m * MU) / (m * m * S0 * S0 + 1 - m * m);
};

test('euler-maruyama in float32 at 1,000 steps stays within 1e-5 relative RMS of the same recursion in float64', () => {
  const n = 256;
  const N = 1000;
  const EPS = 1e-3;
  const x0 = normalArray(n, 21);
  const noiseSampler: NoiseSampler = (shape, step) => tf.tensor(normalArray(n, 500 + step), shape);
  const sde = makeSDE({ sde: 'vp' });
  const oracle = mixtureScore(sde, { weights: [1], means: [[MU]], stds: [S0] });
  const xT = tf.tensor2d(x0, [n, 1]);
  const r = integrate(sde, oracle, 'euler-maruyama', { xT, steps: N, noiseSampler });
  const x32 = r.x.dataSync();
  // x' = x + [(h beta/2) x + h beta s(x, t)] + sqrt(beta h) z on t_i = eps + (1 - eps)(1 - i/N), in float64.
  const x64 = Float64Array.from(x0);
  for (let i = 0; i < N; i++) {
    const t = i === 0 ? 1 : EPS + (1 - EPS) * (1 - i / N);
    const tNext = i + 1 === N ? EPS : EPS + (1 - EPS) * (1 - (i + 1) / N);
    const h = t - tNext;
    const b = beta(t);
    const z = normalArray(n, 500 + i);
    for (let j = 0; j < n; j++) x64[j] += (0.5 * h * b * x64[j] + h * b * score(x64[j], t)) + Math.sqrt(b * h) * z[j];
  }
  const rms = (f: (j: number) => number) => Math.sqrt(Array.from({ length: n }, (_v, j) => f(j) ** 2).reduce((a, b) => a + b, 0) / n);
  const relative = rms((j) => x32[j] - x64[j]) / rms((j) => x64[j]);
  console.log(`euler-maruyama float32 vs float64 at ${N} steps: relative RMS difference ${relative.toExponential(2)}`);
  expect(relative).toBeLessThan(1e-5);
  tf.dispose([r.x, xT]);
  oracle.dispose();
});
