import * as tf from '@tensorflow/tfjs';
import type { ScoreFn, SDE } from '../sde/types.js';
import { dimsPerSample } from '../tensor/dims.js';
import { mixtureDim, type GaussianMixture } from './mixture.js';

/** A score function that holds tensors of its own: call dispose() when done with it. */
export type DisposableScoreFn = ScoreFn & { dispose(): void };

/**
 * The exact score of the mixture's marginal under an SDE with x_t = m(t) x_0 + std(t) z:
 * p_t(x) = sum_k w_k N(x; m mu_k, v_k I), v_k(t) = m^2 s_k^2 + std^2, and
 * grad log p_t(x) = -sum_k r_k(x) (x - m mu_k) / v_k with responsibilities
 * r_k = softmax_k(log w_k - |x - m mu_k|^2 / (2 v_k) - D/2 log v_k) (max-shifted, float32), computed as
 * -x sum_k r_k/v_k + m sum_k (r_k/v_k) mu_k with two [B, D] x [D, K] products.
 * x is [batch, ...] with D trailing elements per sample; t is a scalar or a [batch] tensor.
 * Components of weight 0 are dropped.
 */
export function mixtureScore(sde: SDE, mix: GaussianMixture): DisposableScoreFn {
  const D = mixtureDim(mix);
  const keep = mix.weights.map((w, k) => (w > 0 ? k : -1)).filter((k) => k >= 0);
  const K = keep.length;
  const means = tf.tensor2d(keep.flatMap((k) => mix.means[k]), [K, D]);
  const logW = tf.tensor1d(keep.map((k) => Math.log(mix.weights[k])));
  const s2 = tf.tensor1d(keep.map((k) => mix.stds[k] ** 2));
  const meansT = means.transpose(); // [D, K]
  const normsSq = tf.tidy(() => tf.sum(tf.square(means), 1)); // [K] (tidy: the square is not kept)
  const fn = ((x: tf.Tensor, t: tf.Tensor) =>
    tf.tidy(() => {
      const d = dimsPerSample(x.shape);
      if (d !== D) throw new Error(`mixtureScore: the mixture has dimension ${D}, samples have ${d}`);
      const B = x.shape[0];
      const flat = x.reshape([B, D]);
      const { mean, std } = sde.marginal(t);
      if (t.rank === 0) {
        // One time for all samples: the per-component coefficients are small [K]-sized tensors and
        // the batch work is matrix products, with no broadcasting, concat or split on the batch
        // (slow on the wasm backend): logp = x a^T + |x|^2 (-1/(2v)) + 1 c, r = softmax(logp),
        // score = r a - x (r 1/v), with a_k = m mu_k / v_k.
        const v = tf.add(tf.mul(tf.square(mean), s2), tf.square(std)); // [K]
        const invV = tf.reciprocal(v);
        const a = tf.mul(tf.mul(means, mean), invV.expandDims(1)); // [K, D]
        const c = tf.sub(tf.sub(logW, tf.mul(0.5 * D, tf.log(v))), tf.mul(tf.mul(tf.square(mean), normsSq), tf.mul(0.5, invV)));
        const xx = tf.sum(tf.square(flat), 1, true); // [B, 1]
        const logp = tf.addN([
          tf.matMul(flat, a, false, true),
          tf.matMul(xx, tf.mul(-0.5, invV).reshape([1, K])),
          tf.matMul(tf.onesLike(xx), c.reshape([1, K])),
        ]); // [B, K]
        const r = tf.softmax(logp);
        const q = tf.matMul(r, invV.reshape([K, 1])); // [B, 1]
        return tf.sub(tf.matMul(r, a), tf.mul(flat, q)).reshape(x.shape);
      }
      // Per-sample times give [B, 1] coefficients, a scalar time plain scalars.
      const m = t.rank === 0 ? mean : mean.reshape([-1, 1]);
      const sd = t.rank === 0 ? std : std.reshape([-1, 1]);
      const v = tf.add(tf.mul(tf.square(m), s2), tf.square(sd)); // [K] or [B, K]
      // |x - m mu_k|^2 = |x|^2 - 2 m x.mu_k + m^2 |mu_k|^2, clamped at 0 against rounding.
      const xx = tf.sum(tf.square(flat), 1, true); // [B, 1]
      const xmu = tf.matMul(flat, meansT); // [B, K]
      const sq = tf.relu(tf.add(tf.sub(xx, tf.mul(xmu, tf.mul(2, m))), tf.mul(tf.square(m), normsSq)));
      const logp = tf.sub(tf.sub(logW, tf.div(sq, tf.mul(2, v))), tf.mul(0.5 * D, tf.log(v)));
      const coef = tf.div(tf.softmax(logp), v); // r_k / v_k, [B, K]
      // score = -sum_k coef_k (x - m mu_k) = -x sum_k coef_k + m coef @ mu.
      const score = tf.sub(tf.mul(tf.matMul(coef, means), m), tf.mul(flat, tf.sum(coef, 1, true)));
      return score.reshape(x.shape);
    })) as DisposableScoreFn;
  fn.dispose = () => {
    means.dispose();
    meansT.dispose();
    normsSq.dispose();
    logW.dispose();
    s2.dispose();
  };
  return fn;
}
