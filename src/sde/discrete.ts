import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { OptionError } from '../options/schema.js';
import { appendDims } from '../tensor/dims.js';
import type { SDE } from './types.js';

/** The two maps from a VP-SDE to a discrete chain of N steps. */
export const DISCRETIZATION_MAPS = ['exact', 'score-sde'] as const;
export type DiscretizationMap = (typeof DISCRETIZATION_MAPS)[number];

/** Nichol & Dhariwal's cap on a discrete beta, so that no step destroys all signal. */
export const MAX_DISCRETE_BETA = 0.999;

/**
 * A DDPM forward chain q(x_i | x_{i-1}) = N(sqrt(1 - beta_i) x_{i-1}, beta_i I), steps i = 0..N-1
 * (Ho et al.'s t = i + 1), with everything derived from the betas in float64:
 * alpha_i = 1 - beta_i, alphaBar_i = prod_{j<=i} alpha_j, and the posterior
 * q(x_{i-1} | x_i, x_0) = N(coefX0_i x_0 + coefXt_i x_i, betaTilde_i I) with
 * coefX0 = sqrt(alphaBar_{i-1}) beta_i / (1 - alphaBar_i),
 * coefXt = sqrt(alpha_i) (1 - alphaBar_{i-1}) / (1 - alphaBar_i),
 * betaTilde = beta_i (1 - alphaBar_{i-1}) / (1 - alphaBar_i), alphaBar_{-1} = 1.
 * `times[i]` is the continuous time of step i on the SDE it came from.
 */
export class DiscreteChain {
  readonly N: number;
  readonly alphas: Float64Array;
  readonly alphaBars: Float64Array;
  readonly alphaBarsPrev: Float64Array;
  readonly posteriorVariance: Float64Array;
  /** log betaTilde with step 0 (where betaTilde = 0) replaced by step 1, as in Ho et al.'s code. */
  readonly posteriorLogVarianceClipped: Float64Array;
  readonly posteriorCoefX0: Float64Array;
  readonly posteriorCoefXt: Float64Array;

  constructor(readonly betas: Float64Array, readonly times: Float64Array) {
    const N = betas.length;
    if (N < 1 || times.length !== N) throw new Error('DiscreteChain: need N >= 1 betas and one time per step');
    for (const b of betas) if (!(b > 0 && b < 1)) throw new Error(`DiscreteChain: every beta must lie in (0, 1), got ${b}`);
    this.N = N;
    this.alphas = betas.map((b) => 1 - b);
    this.alphaBars = new Float64Array(N);
    this.alphaBarsPrev = new Float64Array(N);
    let prod = 1;
    for (let i = 0; i < N; i++) {
      this.alphaBarsPrev[i] = prod;
      prod *= this.alphas[i];
      this.alphaBars[i] = prod;
    }
    this.posteriorVariance = betas.map((b, i) => (b * (1 - this.alphaBarsPrev[i])) / (1 - this.alphaBars[i]));
    this.posteriorLogVarianceClipped = this.posteriorVariance.map((v, i) =>
      Math.log(i === 0 ? this.posteriorVariance[Math.min(1, N - 1)] || betas[0] : v),
    );
    this.posteriorCoefX0 = betas.map((b, i) => (Math.sqrt(this.alphaBarsPrev[i]) * b) / (1 - this.alphaBars[i]));
    this.posteriorCoefXt = betas.map((_b, i) => (Math.sqrt(this.alphas[i]) * (1 - this.alphaBarsPrev[i])) / (1 - this.alphaBars[i]));
  }

  /** Gathers per-step values at integer `steps` ([batch] int32) as a float32 [batch] tensor. */
  gather(values: Float64Array, steps: tf.Tensor1D): tf.Tensor1D {
    return tf.tidy(() => tf.gather(tf.tensor1d(Array.from(values), 'float32'), steps)) as tf.Tensor1D;
  }

  /** A draw of q(x_i | x_0) = N(sqrt(alphaBar_i) x_0, (1 - alphaBar_i) I) given the noise: sqrt(alphaBar_i) x_0 + sqrt(1 - alphaBar_i) noise. */
  qSample(x0: tf.Tensor, steps: tf.Tensor1D, noise: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const mean = appendDims(this.gather(this.alphaBars.map(Math.sqrt), steps), x0.rank);
      const std = appendDims(this.gather(this.alphaBars.map((a) => Math.sqrt(1 - a)), steps), x0.rank);
      return tf.add(tf.mul(mean, x0), tf.mul(std, noise));
    });
  }

  /** Mean and variance of the posterior q(x_{i-1} | x_i, x_0); variance and log-variance are per sample, broadcastable. */
  posterior(x0: tf.Tensor, xt: tf.Tensor, steps: tf.Tensor1D): { mean: tf.Tensor; variance: tf.Tensor; logVariance: tf.Tensor } {
    return tf.tidy(() => {
      const c0 = appendDims(this.gather(this.posteriorCoefX0, steps), x0.rank);
      const ct = appendDims(this.gather(this.posteriorCoefXt, steps), x0.rank);
      return {
        mean: tf.add(tf.mul(c0, x0), tf.mul(ct, xt)),
        variance: appendDims(this.gather(this.posteriorVariance, steps), x0.rank),
        logVariance: appendDims(this.gather(this.posteriorLogVarianceClipped, steps), x0.rank),
      };
    });
  }
}

/**
 * Maps a VP-SDE to a DDPM chain of N steps.
 * - 'score-sde': beta_i = beta(t_i)/N on t_i = i T/(N - 1), as score_sde does; with the linear
 *   schedule (0.1, 20) and N = 1000 these are Ho et al.'s betas linspace(1e-4, 0.02, 1000).
 *   At small N a beta reaches 1 and the chain breaks: that is an error.
 * - 'exact': alphaBar_i = mean(t_i)^2 on t_i = (i + 1) T / N, so the chain's marginals equal
 *   the SDE's at every step for any N; beta_i = 1 - alphaBar_i / alphaBar_{i-1}, capped at 0.999.
 * A bad N is an OptionError of `field`, the caller's name for it (`sde schedule --discrete`, a solver's `steps`).
 */
export function discretize(sde: SDE, N: number, map: DiscretizationMap = 'exact', field = 'discrete'): DiscreteChain {
  if (sde.name !== 'vp') throw new UsageError(`--sde: the discrete DDPM chain is defined for the VP-SDE, not '${sde.name}'`);
  if (!(Number.isInteger(N) && N >= 2)) throw new OptionError(field, `expected an integer number of steps >= 2, got ${N}`);
  const times = new Float64Array(N);
  const betas = new Float64Array(N);
  if (map === 'score-sde') {
    for (let i = 0; i < N; i++) {
      times[i] = (i * sde.T) / (N - 1);
      const g = sde.diffusionAt(times[i]);
      betas[i] = (g * g) / N;
    }
    const worst = betas.reduce((a, b) => Math.max(a, b), 0);
    if (worst >= 1) {
      throw new OptionError(field, `the score-sde map beta_i = beta(t_i)/N gives beta = ${worst.toPrecision(4)} >= 1 at N = ${N}; use the exact map or a larger N`);
    }
  } else {
    for (let i = 0; i < N; i++) times[i] = ((i + 1) * sde.T) / N;
    return exactChain(sde, times);
  }
  return new DiscreteChain(betas, times);
}

/**
 * The exact map at any increasing times 0 < t_0 < ... < t_{N-1} <= T of a VP-SDE:
 * alphaBar_i = mean(t_i)^2, beta_i = 1 - alphaBar_i / alphaBar_{i-1} (alphaBar_{-1} = 1),
 * capped at 0.999; the chain's marginals q(x_i | x_0) are the SDE's at t_i (up to the cap).
 * discretize(sde, N, 'exact') is this map on t_i = (i + 1) T / N.
 */
export function exactChain(sde: SDE, times: ArrayLike<number>): DiscreteChain {
  if (sde.name !== 'vp') throw new UsageError(`--sde: the discrete DDPM chain is defined for the VP-SDE, not '${sde.name}'`);
  const N = times.length;
  if (N < 2) throw new Error(`exactChain: need at least two times, got ${N}`);
  const t = Float64Array.from(times);
  for (let i = 0; i < N; i++) {
    if (!(t[i] > 0 && t[i] <= sde.T && (i === 0 || t[i] > t[i - 1]))) {
      throw new Error(`exactChain: times must increase strictly within (0, T = ${sde.T}], got t[${i}] = ${t[i]}`);
    }
  }
  const betas = new Float64Array(N);
  let prev = 1;
  for (let i = 0; i < N; i++) {
    const alphaBar = sde.marginalAt(t[i]).mean ** 2;
    betas[i] = Math.min(1 - alphaBar / prev, MAX_DISCRETE_BETA);
    prev *= 1 - betas[i];
  }
  return new DiscreteChain(betas, t);
}
