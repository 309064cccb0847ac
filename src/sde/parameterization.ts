import * as tf from '@tensorflow/tfjs';
import { appendDims } from '../tensor/dims.js';
import type { Marginal } from './types.js';

/*
 * Conversions between the three ways to say what a denoiser predicts, for
 * x_t = mean(t) x_0 + std(t) eps. mean and std are scalars or [batch] tensors.
 */

function broadcast(m: Marginal<tf.Tensor>, rank: number): Marginal<tf.Tensor> {
  return { mean: appendDims(m.mean, rank), std: appendDims(m.std, rank) };
}

/** score = -eps / std(t). */
export function epsToScore(eps: tf.Tensor, m: Marginal<tf.Tensor>): tf.Tensor {
  return tf.tidy(() => tf.neg(tf.div(eps, broadcast(m, eps.rank).std)));
}

/** eps = -std(t) score. */
export function scoreToEps(score: tf.Tensor, m: Marginal<tf.Tensor>): tf.Tensor {
  return tf.tidy(() => tf.neg(tf.mul(score, broadcast(m, score.rank).std)));
}

/** x_0 = (x_t - std(t) eps) / mean(t). */
export function epsToX0(xt: tf.Tensor, eps: tf.Tensor, m: Marginal<tf.Tensor>): tf.Tensor {
  return tf.tidy(() => {
    const b = broadcast(m, xt.rank);
    return tf.div(tf.sub(xt, tf.mul(b.std, eps)), b.mean);
  });
}

/** eps = (x_t - mean(t) x_0) / std(t). */
export function x0ToEps(xt: tf.Tensor, x0: tf.Tensor, m: Marginal<tf.Tensor>): tf.Tensor {
  return tf.tidy(() => {
    const b = broadcast(m, xt.rank);
    return tf.div(tf.sub(xt, tf.mul(b.mean, x0)), b.std);
  });
}

/** x_0 = (x_t + std(t)^2 score) / mean(t) (Tweedie's formula). */
export function scoreToX0(xt: tf.Tensor, score: tf.Tensor, m: Marginal<tf.Tensor>): tf.Tensor {
  return tf.tidy(() => {
    const b = broadcast(m, xt.rank);
    return tf.div(tf.add(xt, tf.mul(tf.square(b.std), score)), b.mean);
  });
}

/** score = -(x_t - mean(t) x_0) / std(t)^2. */
export function x0ToScore(xt: tf.Tensor, x0: tf.Tensor, m: Marginal<tf.Tensor>): tf.Tensor {
  return tf.tidy(() => {
    const b = broadcast(m, xt.rank);
    return tf.neg(tf.div(tf.sub(xt, tf.mul(b.mean, x0)), tf.square(b.std)));
  });
}
