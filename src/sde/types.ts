import type * as tf from '@tensorflow/tfjs';

/** A score function s(x, t) ~ grad_x log p_t(x); t is a scalar or one time per sample. */
export type ScoreFn = (x: tf.Tensor, t: tf.Tensor) => tf.Tensor;

/**
 * A score that reports its cost: each call makes `evaluationsPerCall` network evaluations
 * (classifier-free guidance: 2). Solvers count NFE by it; a plain ScoreFn counts 1 per call.
 */
export type CostedScoreFn = ScoreFn & { readonly evaluationsPerCall: number };

/**
 * A class-conditional score s(x, t, c) ~ grad_x log p_t(x | c), one class c for the whole batch;
 * label null is the unconditional score grad_x log p_t(x) (the null label of a guidance model).
 */
export type ConditionalScore = (x: tf.Tensor, t: tf.Tensor, label: number | null) => tf.Tensor;

/** Marginal of x_t given x_0: x_t = mean(t) x_0 + std(t) z, z ~ N(0, I). */
export interface Marginal<V> {
  mean: V;
  std: V;
}

/** Names of the SDE families. */
export const SDE_NAMES = ['vp', 'subvp', 've'] as const;
export type SDEName = (typeof SDE_NAMES)[number];

/** What rebuilds an SDE: stored in checkpoints and printed by `sde schedule --json`. */
export interface SDEConfig {
  sde: SDEName;
  /** VP and sub-VP: 'linear', 'cosine' or an expression beta(t). */
  schedule: string;
  betaMin: number;
  betaMax: number;
  sigmaMin: number;
  sigmaMax: number;
}

/**
 * An Ito SDE dx = f(x, t) dt + g(t) dW on t in [0, T] with a drift linear in x,
 * f(x, t) = a(t) x (true of VP, sub-VP and VE), and a Gaussian prior at T.
 * Tensor methods take t as a scalar or a [batch] tensor; *At methods are float64 on the host.
 */
export interface SDE {
  readonly name: SDEName;
  readonly T: number;
  readonly config: SDEConfig;
  /** Drift coefficient a(t) with f(x, t) = a(t) x. */
  driftCoef(t: tf.Tensor): tf.Tensor;
  /** f(x, t) = a(t) x, broadcasting a per-sample t over the trailing dimensions of x. */
  drift(x: tf.Tensor, t: tf.Tensor): tf.Tensor;
  /** g(t). */
  diffusion(t: tf.Tensor): tf.Tensor;
  /** mean(t) and std(t) of x_t given x_0. */
  marginal(t: tf.Tensor): Marginal<tf.Tensor>;
  /** Standard deviation of the prior N(0, priorStd^2 I) at t = T. */
  readonly priorStd: number;
  /** A draw from the prior with the given shape. */
  priorSample(shape: number[], seed?: number): tf.Tensor;
  /** log N(z; 0, priorStd^2 I), summed over all but the batch axis: [batch]. */
  priorLogProb(z: tf.Tensor): tf.Tensor1D;
  driftCoefAt(t: number): number;
  diffusionAt(t: number): number;
  marginalAt(t: number): Marginal<number>;
}
