import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { variationalBound } from '../../src/eval/vlb.js';
import { makeSDE } from '../../src/sde/registry.js';
import { normalRng } from '../../src/random.js';

// Data x_0 ~ N(mu, s0^2) in one dimension: every marginal is Gaussian and the exact noise
// predictor is eps*(x, t) = std(t) (x - m(t) mu) / (m(t)^2 s0^2 + std(t)^2).
const mu = 0.7;
const s0 = 0.5;
const sde = makeSDE();
const exactEps = (x: tf.Tensor, t: tf.Tensor) =>
  tf.tidy(() => {
    const { mean, std } = sde.marginal(t);
    const variance = tf.add(tf.mul(tf.square(mean), s0 * s0), tf.square(std));
    return tf.div(tf.mul(std, tf.sub(x, tf.mul(mean, mu))), variance);
  });

function data(n: number, seed: number): { x0: tf.Tensor; nll: number } {
  const z = normalRng(seed);
  const values = Array.from({ length: n }, () => mu + s0 * z());
  // Exact -log N(x; mu, s0^2), averaged, in float64.
  const nll = values.reduce((s, x) => s + 0.5 * Math.log(2 * Math.PI * s0 * s0) + ((x - mu) ** 2) / (2 * s0 * s0), 0) / n;
  return { x0: tf.tensor2d(values, [n, 1]), nll };
}

describe('DDPM variational bound', () => {
  /**
   * The same bound in closed form, float64: on the exact chain abar_i = m(t_i)^2, t_i = (i+1)/N, with
   * the exact model every expected KL is c0_i^2 Var(x0 | x_i) / (2 betaTilde_i), Var(x0 | x_i) =
   * s0^2 (1 - abar_i)/(abar_i s0^2 + 1 - abar_i), the decoder is 1/2 log(2 pi betaTilde_1) + Var(x0 | x_0)/(2 betaTilde_1),
   * and the prior KL is that of N(sqrt(abar_N) mu, abar_N s0^2 + 1 - abar_N) against N(0, 1) averaged over data.
   */
  function closedFormBound(N: number): number {
    const B = (t: number) => 0.1 * t + 0.5 * 19.9 * t * t;
    const ab = Array.from({ length: N }, (_, i) => Math.exp(-B((i + 1) / N)));
    const prev = [1, ...ab.slice(0, -1)];
    const beta = ab.map((a, i) => 1 - a / prev[i]);
    const betaTilde = beta.map((b, i) => (b * (1 - prev[i])) / (1 - ab[i]));
    const c0 = beta.map((b, i) => (Math.sqrt(prev[i]) * b) / (1 - ab[i]));
    const posteriorVar = (i: number) => (s0 * s0 * (1 - ab[i])) / (ab[i] * s0 * s0 + 1 - ab[i]);
    let diffusion = 0;
    for (let i = 1; i < N; i++) diffusion += (c0[i] ** 2 * posteriorVar(i)) / (2 * betaTilde[i]);
    const decoder = 0.5 * Math.log(2 * Math.PI * betaTilde[1]) + posteriorVar(0) / (2 * betaTilde[1]);
    const aN = ab[N - 1];
    const prior = 0.5 * (1 - aN + aN * (mu * mu + s0 * s0) - 1 - Math.log(1 - aN));
    return prior + diffusion + decoder;
  }

  test('the Monte Carlo bound of the exact model equals its float64 closed form and lies above the NLL', () => {
    const { x0, nll } = data(4000, 1);
    for (const steps of [8, 32, 128]) {
      const r = variationalBound(sde, exactEps, x0, { steps, seed: 2 });
      expect(r.nfe).toBe(steps);
      const se = Math.sqrt(r.nats.reduce((s, v) => s + (v - r.natsPerDim) ** 2, 0) / (r.nats.length - 1) / r.nats.length);
      const exact = closedFormBound(steps);
      // Sampling error of the data set's own NLL (about 0.011 here) plus 4 standard errors of the bound.
      expect(Math.abs(r.natsPerDim - exact)).toBeLessThan(4 * se + 0.03);
      expect(exact).toBeGreaterThan(0.5 * Math.log(2 * Math.PI * s0 * s0) + 0.5);
      expect(r.natsPerDim).toBeGreaterThan(nll - 4 * se);
    }
    x0.dispose();
  });

  test('a wrong model gets a looser bound', () => {
    const { x0 } = data(2000, 3);
    const exact = variationalBound(sde, exactEps, x0, { steps: 32, seed: 4 });
    const wrong = variationalBound(sde, (x, t) => tf.tidy(() => tf.mul(1.3, exactEps(x, t))), x0, { steps: 32, seed: 4 });
    expect(wrong.natsPerDim).toBeGreaterThan(exact.natsPerDim + 0.05);
    x0.dispose();
  });

  test('no tensors leak over many steps', () => {
    const { x0 } = data(16, 5);
    const before = tf.memory().numTensors;
    variationalBound(sde, exactEps, x0, { steps: 1000, seed: 6, decoder: 'discretized' });
    expect(tf.memory().numTensors).toBe(before);
    x0.dispose();
  });
});
