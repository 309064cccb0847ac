import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { mixtureScore } from '../../src/oracle/index.js';
import { normalArray } from '../../src/random.js';
import { makeSDE } from '../../src/sde/index.js';
import { integrate, type IntegrateOptions, type NoiseSampler } from '../../src/solvers/index.js';
import { MU, S0 } from './helpers.js';
import { sampleTriangle } from './mixture-cases.js';

// The linear VP-SDE (beta 0.1 .. 20 on [0, 1]) and Gaussian data N(MU, S0^2), in float64.
const sde = makeSDE({ sde: 'vp' });
const EPS = 1e-3;
const meanAt = (t: number) => Math.exp(-(0.1 * t + (19.9 * t * t) / 2) / 2);
const score = (x: number, t: number) => {
  const m = meanAt(t);
  return -(x - m * MU) / (m * m * S0 * S0 + 1 - m * m);
};

/** The noise of step k: normalArray(n, 1000 + k), recorded as float32 numbers. */
const knownNoise: NoiseSampler = (shape, step) => tf.tensor(normalArray(shape[0], 1000 + step), shape);

/**
 * Runs ddpm on 16 points with the known noise and compares each saved state with `expected`
 * (previous state, step k) in float64; returns the largest error relative to 1 + |x|.
 */
function stepByStep(options: IntegrateOptions, expected: (x: number, k: number, z: number) => number, times: number[]): number {
  const n = 16;
  const xT = tf.tensor2d(Array.from(normalArray(n, 3), (z) => [z]), [n, 1]);
  const oracle = mixtureScore(sde, { weights: [1], means: [[MU]], stds: [S0] });
  const r = integrate(sde, oracle, 'ddpm', { xT, saveAt: 'all', noiseSampler: knownNoise, ...options });
  expect(r.times!.length).toBe(times.length);
  r.times!.forEach((t, k) => expect(t).toBeCloseTo(times[k], 12));
  const states = r.path!.map((p) => Array.from(p.dataSync()));
  let worst = 0;
  for (let k = 0; k + 1 < states.length; k++) {
    const z = normalArray(n, 1000 + k);
    states[k].forEach((x, j) => {
      const e = expected(x, k, z[j]);
      worst = Math.max(worst, Math.abs(states[k + 1][j] - e) / (1 + Math.abs(e)));
    });
  }
  expect(Array.from(r.x.dataSync())).toEqual(states[states.length - 1]);
  tf.dispose([r.x, ...r.path!, xT]);
  oracle.dispose();
  return worst;
}

describe("ddpm --map score-sde is score_sde's ancestral sampling predictor", () => {
  test('each step is x <- (x + beta_i s(x, t_i)) / sqrt(1 - beta_i) + sqrt(beta_i) z, the last without noise', () => {
    const N = 50;
    // score_sde: discrete_betas = linspace(beta_min/N, beta_max/N, N), times linspace(T, eps, N);
    // step k is at t = times[k], whose index floor(t (N - 1) / T) is i = N - 1 - k.
    const betas = Array.from({ length: N }, (_v, i) => 0.1 / N + (i * (20 / N - 0.1 / N)) / (N - 1));
    const times = Array.from({ length: N }, (_v, k) => 1 - (k * (1 - EPS)) / (N - 1)).concat([0]);
    const update = (x: number, k: number, z: number, variance: (i: number) => number) => {
      const i = N - 1 - k;
      const mean = (x + betas[i] * score(x, times[k])) / Math.sqrt(1 - betas[i]);
      return i === 0 ? mean : mean + Math.sqrt(variance(i)) * z;
    };
    const worst = stepByStep({ steps: N, map: 'score-sde' }, (x, k, z) => update(x, k, z, (i) => betas[i]), times);
    // --variance beta-tilde on the same chain: betaTilde_i = beta_i (1 - alphaBar_{i-1}) / (1 - alphaBar_i).
    const alphaBars = betas.map((_b, i) => betas.slice(0, i + 1).reduce((p, b) => p * (1 - b), 1));
    const betaTilde = (i: number) => (betas[i] * (1 - (i > 0 ? alphaBars[i - 1] : 1))) / (1 - alphaBars[i]);
    const worstTilde = stepByStep({ steps: N, map: 'score-sde', variance: 'beta-tilde' }, (x, k, z) => update(x, k, z, betaTilde), times);
    console.log(`ddpm score-sde, step by step against float64: largest error / (1 + |x|) ${worst.toExponential(2)} (variance beta), ${worstTilde.toExponential(2)} (beta-tilde)`);
    expect(worst).toBeLessThan(1e-6);
    expect(worstTilde).toBeLessThan(1e-6);
  });

  test("the exact map keeps Ho et al.'s update with alphaBar_i = mean(t_i)^2 on t_i = (i + 1) / N", () => {
    const N = 50;
    const ts = Array.from({ length: N }, (_v, i) => (i + 1) / N);
    const alphaBars = ts.map((t) => meanAt(t) ** 2);
    const betas = alphaBars.map((a, i) => 1 - a / (i > 0 ? alphaBars[i - 1] : 1));
    const times = ts.slice().reverse().concat([0]);
    const worst = stepByStep({ steps: N }, (x, k, z) => {
      const i = N - 1 - k;
      // eps^ = -std(t_i) s; x <- (x - beta / sqrt(1 - alphaBar) eps^) / sqrt(alpha) + sqrt(betaTilde) z.
      const epsHat = -Math.sqrt(1 - alphaBars[i]) * score(x, ts[i]);
      const mean = (x - (betas[i] / Math.sqrt(1 - alphaBars[i])) * epsHat) / Math.sqrt(1 - betas[i]);
      const betaTilde = (betas[i] * (1 - (i > 0 ? alphaBars[i - 1] : 1))) / (1 - alphaBars[i]);
      return i === 0 ? mean : mean + Math.sqrt(betaTilde) * z;
    }, times);
    console.log(`ddpm exact map, step by step against float64: largest error / (1 + |x|) ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-6);
  });

  test('on the triangle mixture at N = 100 the within-component variance is within 2% of the exact one', () => {
    const { check } = sampleTriangle('ddpm', { steps: 100, map: 'score-sde' });
    console.log(`ddpm score-sde N = 100: within-component variance ${check.withinVar.toFixed(4)}, exact ${check.withinRef.toFixed(4)}`);
    expect(Math.abs(check.withinVar / check.withinRef - 1)).toBeLessThan(0.02);
  });
});
