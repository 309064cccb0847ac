import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { discretize, makeSDE, type DiscreteChain } from '../../src/sde/index.js';
import { expectClose, rng, take } from './reference.js';

/*
 * q(x_{i-1} | x_i, x_0) by Bayes' rule, in float64, from the betas alone:
 *   prior      q(x_{i-1} | x_0)     = N(sqrt(abar_{i-1}) x_0, 1 - abar_{i-1})
 *   likelihood q(x_i | x_{i-1})     = N(sqrt(alpha_i) x_{i-1}, beta_i), as a function of x_{i-1}
 * Their product is Gaussian with precision 1/(1 - abar_{i-1}) + alpha_i / beta_i and mean
 * variance * (sqrt(abar_{i-1}) x_0 / (1 - abar_{i-1}) + sqrt(alpha_i) x_i / beta_i).
 */
function bayesPosterior(betas: ArrayLike<number>, i: number, x0: number, xt: number): { mean: number; variance: number } {
  let abarPrev = 1;
  for (let j = 0; j < i; j++) abarPrev *= 1 - betas[j];
  const beta = betas[i];
  const alpha = 1 - beta;
  const priorVar = 1 - abarPrev;
  const precision = 1 / priorVar + alpha / beta;
  const variance = 1 / precision;
  const mean = variance * ((Math.sqrt(abarPrev) * x0) / priorVar + (Math.sqrt(alpha) * xt) / beta);
  return { mean, variance };
}

const CHAINS: [string, () => DiscreteChain][] = [
  ["VP linear, N = 1000, score-sde map (Ho et al.)", () => discretize(makeSDE(), 1000, 'score-sde')],
  ['VP linear, N = 10, exact map', () => discretize(makeSDE(), 10, 'exact')],
  ['VP cosine, N = 50, exact map', () => discretize(makeSDE({ schedule: 'cosine' }), 50, 'exact')],
];

describe.each(CHAINS)('%s', (_label, build) => {
  const chain = build();
  const N = chain.N;
  const steps = N === 1000 ? [1, 2, 10, 100, 500, 998, 999] : Array.from({ length: N - 1 }, (_, i) => i + 1);

  test('alpha-bar and alpha follow from the betas', () => {
    let prod = 1;
    for (let i = 0; i < N; i++) {
      expect(chain.alphaBarsPrev[i]).toBeCloseTo(prod, 14);
      prod *= 1 - chain.betas[i];
      expect(Math.abs(chain.alphaBars[i] - prod)).toBeLessThan(1e-14);
      expect(chain.alphas[i]).toBe(1 - chain.betas[i]);
    }
  });

  test('host coefficient arrays equal the product of Gaussians (float64)', () => {
    for (const i of steps) {
      // the mean is linear in (x0, xt): read the two coefficients off unit inputs
      const c0 = bayesPosterior(chain.betas, i, 1, 0);
      const ct = bayesPosterior(chain.betas, i, 0, 1);
      expect(Math.abs(chain.posteriorCoefX0[i] / c0.mean - 1)).toBeLessThan(1e-10);
      expect(Math.abs(chain.posteriorCoefXt[i] / ct.mean - 1)).toBeLessThan(1e-10);
      expect(Math.abs(chain.posteriorVariance[i] / c0.variance - 1)).toBeLessThan(1e-10);
      expect(Math.abs(chain.posteriorLogVarianceClipped[i] - Math.log(c0.variance))).toBeLessThan(1e-10);
      // and for an arbitrary pair
      const p = bayesPosterior(chain.betas, i, 0.7, -1.3);
      expect(Math.abs(chain.posteriorCoefX0[i] * 0.7 + chain.posteriorCoefXt[i] * -1.3 - p.mean)).toBeLessThan(1e-10);
    }
  });

  test('step 0 (abar_{-1} = 1): the posterior is the point x0, log-variance clipped to step 1', () => {
    expect(chain.alphaBarsPrev[0]).toBe(1);
    expect(chain.posteriorVariance[0]).toBe(0);
    expect(chain.posteriorCoefXt[0]).toBe(0);
    expect(Math.abs(chain.posteriorCoefX0[0] - 1)).toBeLessThan(1e-12);
    expect(chain.posteriorLogVarianceClipped[0]).toBe(Math.log(chain.posteriorVariance[1]));
  });

  test('posterior() on tensors: mean, variance and log-variance per sample (float32)', () => {
    const u = rng(11);
    const B = steps.length;
    const D = 3;
    const x0 = Array.from({ length: B * D }, () => 2 * u() - 1);
    const xt = Array.from({ length: B * D }, () => 3 * u() - 1.5);
    const x0T = tf.tensor2d(x0, [B, D]);
    const xtT = tf.tensor2d(xt, [B, D]);
    const stepT = tf.tensor1d(steps, 'int32');
    const post = chain.posterior(x0T, xtT, stepT);
    expect(post.mean.shape).toEqual([B, D]);
    expect(post.variance.shape).toEqual([B, 1]);
    expect(post.logVariance.shape).toEqual([B, 1]);
    const wantMean: number[] = [];
    const wantVar: number[] = [];
    for (let b = 0; b < B; b++) {
      for (let d = 0; d < D; d++) wantMean.push(bayesPosterior(chain.betas, steps[b], Math.fround(x0[b * D + d]), Math.fround(xt[b * D + d])).mean);
      wantVar.push(bayesPosterior(chain.betas, steps[b], 0, 0).variance);
    }
    expectClose(take(post.mean), wantMean, 1e-5, 1e-6, 'posterior mean');
    expectClose(take(post.variance), wantVar, 1e-5, 0, 'posterior variance');
    expectClose(take(post.logVariance), wantVar.map(Math.log), 0, 1e-5, 'posterior log-variance');
    x0T.dispose();
    xtT.dispose();
    stepT.dispose();
  });

  test('qSample is sqrt(abar_i) x0 + sqrt(1 - abar_i) noise (float32)', () => {
    const u = rng(12);
    const B = steps.length;
    const x0 = Array.from({ length: B * 2 }, () => 2 * u() - 1);
    const noise = Array.from({ length: B * 2 }, () => 4 * u() - 2);
    const x0T = tf.tensor2d(x0, [B, 2]);
    const nT = tf.tensor2d(noise, [B, 2]);
    const stepT = tf.tensor1d(steps, 'int32');
    const want = x0.map((v, k) => {
      let abar = 1;
      for (let j = 0; j <= steps[Math.floor(k / 2)]; j++) abar *= 1 - chain.betas[j];
      return Math.sqrt(abar) * Math.fround(v) + Math.sqrt(1 - abar) * Math.fround(noise[k]);
    });
    expectClose(take(chain.qSample(x0T, stepT, nT)), want, 1e-5, 1e-6, 'qSample');
    x0T.dispose();
    nT.dispose();
    stepT.dispose();
  });
});
