import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import type { Rng } from '../random.js';
import type { EpsFn } from '../models/score-model.js';
import type { DiscreteChain } from '../sde/discrete.js';
import type { SDE } from '../sde/types.js';
import { appendDims } from '../tensor/dims.js';

/**
 * Denoising score matching (Vincent 2011; Song et al. 2021) in its eps form. With
 * x_t = mean(t) x_0 + std(t) z, the score loss lambda(t) |s(x_t, t) + z / std(t)|^2 equals
 * (lambda(t) / std(t)^2) |eps(x_t, t) - z|^2 for eps = -std s. Weightings:
 * - 'eps': lambda = std^2, the eps-MSE |eps - z|^2 (Ho et al.'s L_simple in continuous time);
 * - 'likelihood': lambda = g(t)^2 (Song et al. 2021b), weight g^2 / std^2 on the eps-MSE.
 * Losses average over the batch and over the dimensions of a sample (per-coordinate mean).
 * Class-conditional models get labels y [B] (int32; the null label for dropped ones) and the
 * losses use eps(x_t, t, y) in place of eps(x_t, t).
 */
export const WEIGHTINGS = ['eps', 'likelihood'] as const;
export type Weighting = (typeof WEIGHTINGS)[number];

export const OBJECTIVES = ['dsm', 'ddpm'] as const;
export type Objective = (typeof OBJECTIVES)[number];

/** Lower end of the training times t ~ U[eps, T]. */
export const DEFAULT_TRAIN_EPS = 1e-5;

/** Checks an objective name (dsm or ddpm); errors name `flag`. */
export function parseObjective(value: string, flag = '--objective'): Objective {
  if ((OBJECTIVES as readonly string[]).includes(value)) return value as Objective;
  throw new UsageError(`${flag}: unknown objective '${value}', expected one of ${OBJECTIVES.join(', ')}`);
}

/** Checks a loss weighting name (eps or likelihood); errors name `flag`. */
export function parseWeighting(value: string, flag = '--weighting'): Weighting {
  if ((WEIGHTINGS as readonly string[]).includes(value)) return value as Weighting;
  throw new UsageError(`${flag}: unknown weighting '${value}', expected one of ${WEIGHTINGS.join(', ')}`);
}

/** Per-sample mean of (eps - z)^2 over all but the batch axis: [B]. */
function perSampleMse(pred: tf.Tensor, z: tf.Tensor): tf.Tensor1D {
  const sq = tf.squaredDifference(pred, z);
  return (sq.rank === 1 ? sq : tf.mean(sq.reshape([sq.shape[0], -1]), 1)) as tf.Tensor1D;
}

/**
 * Per-sample DSM losses w(t) mean_d (eps(x_t, t[, y]) - z)^2 for given x0 [B, ...], t [B], noise z
 * (x0's shape) and optional labels y [B]: [B].
 */
export function dsmLossPerSample(eps: EpsFn, sde: SDE, x0: tf.Tensor, t: tf.Tensor1D, z: tf.Tensor, weighting: Weighting = 'eps', labels?: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const { mean, std } = sde.marginal(t);
    const xt = tf.add(tf.mul(appendDims(mean, x0.rank), x0), tf.mul(appendDims(std, x0.rank), z));
    const mse = perSampleMse(eps(xt, t, labels), z);
    if (weighting === 'eps') return mse;
    return tf.mul(mse, tf.square(tf.div(sde.diffusion(t), std))) as tf.Tensor1D;
  });
}

/** The DSM loss: the batch mean of dsmLossPerSample, (1/B) sum_i w(t_i) mean_d (eps(x_t_i, t_i[, y_i]) - z_i)^2. */
export function dsmLoss(eps: EpsFn, sde: SDE, x0: tf.Tensor, t: tf.Tensor1D, z: tf.Tensor, weighting: Weighting = 'eps', labels?: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    if (weighting === 'eps') {
      // One reduction over everything: the same value with fewer kernels.
      const { mean, std } = sde.marginal(t);
      const xt = tf.add(tf.mul(appendDims(mean, x0.rank), x0), tf.mul(appendDims(std, x0.rank), z));
      return tf.mean(tf.squaredDifference(eps(xt, t, labels), z));
    }
    return tf.mean(dsmLossPerSample(eps, sde, x0, t, z, weighting, labels));
  }) as tf.Scalar;
}

/**
 * Ho et al.'s L_simple on integer steps i [B] (int32) of a DDPM chain:
 * mean |eps(sqrt(abar_i) x0 + sqrt(1 - abar_i) z, t_i) - z|^2 with the chain's alpha-bar, where
 * the model receives the continuous time t_i = chain.times[i], so it stays a score model at any t.
 * On the exact map (abar_i = mean(t_i)^2) this is the DSM loss with 'eps' weighting on the grid t_i.
 * Optional labels y [B] (class-conditional models): eps(x_t, t_i, y).
 */
export function ddpmLoss(eps: EpsFn, chain: DiscreteChain, x0: tf.Tensor, steps: tf.Tensor1D, z: tf.Tensor, labels?: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const xt = chain.qSample(x0, steps, z);
    const t = chain.gather(chain.times, steps);
    return tf.mean(tf.squaredDifference(eps(xt, t, labels), z));
  }) as tf.Scalar;
}

/** n times uniform on [eps, T] (float32 values for a tensor). */
export function sampleTimes(rng: Rng, n: number, eps: number, T: number): Float32Array {
  return rng.fillUniform(new Float32Array(n), eps, T);
}

/**
 * Training labels for classifier-free guidance: y_i = labels[idx_i], replaced by the null label
 * numClasses with probability pUncond (one rng.next() per sample, drawn in order, so the same rng
 * state gives the same labels).
 */
export function dropLabels(rng: Rng, labels: ArrayLike<number>, idx: ArrayLike<number>, numClasses: number, pUncond: number): Int32Array {
  const out = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = rng.next() < pUncond ? numClasses : labels[idx[i]];
  return out;
}

/** n integer steps uniform on {0, ..., N - 1}. */
export function sampleSteps(rng: Rng, n: number, N: number): Int32Array {
  return rng.ints(n, N);
}
