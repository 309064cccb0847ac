import * as tf from '@tensorflow/tfjs';
import { appendDims } from '../tensor/dims.js';
import type { ScoreFn, SDE } from './types.js';

/** g(t)^2 broadcast over x. */
function diffusionSquared(sde: SDE, t: tf.Tensor, rank: number): tf.Tensor {
  return appendDims(tf.square(sde.diffusion(t)), rank);
}

/**
 * Drift of the reverse-time SDE (Anderson 1982), run from T down to 0:
 * dx = [f(x, t) - g(t)^2 s(x, t)] dt + g(t) dW-bar.
 */
export function reverseSdeDrift(sde: SDE, score: ScoreFn, x: tf.Tensor, t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(sde.drift(x, t), tf.mul(diffusionSquared(sde, t, x.rank), score(x, t))));
}

/**
 * Drift of the probability-flow ODE, whose solutions share the SDE's marginals:
 * dx/dt = f(x, t) - 1/2 g(t)^2 s(x, t).
 */
export function probabilityFlowDrift(sde: SDE, score: ScoreFn, x: tf.Tensor, t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sub(sde.drift(x, t), tf.mul(tf.mul(0.5, diffusionSquared(sde, t, x.rank)), score(x, t))));
}

/** lambda of the reverse-time drift f - lambda g^2 s: 1 for the reverse SDE, 1/2 for the probability-flow ODE. */
export const REVERSE_SDE = 1;
export const PROBABILITY_FLOW = 0.5;

/**
 * The reverse-time drift F(x, t) = f(x, t) - lambda g(t)^2 s(x, t) = a(t) x - lambda g(t)^2 s
 * of an SDE with linear drift, as its two float64 coefficients at a host time:
 * { x: a(t), score: -lambda g(t)^2 } (lambda = REVERSE_SDE or PROBABILITY_FLOW).
 */
export function driftCoefficients(sde: SDE, t: number, lambda: number): { x: number; score: number } {
  const g = sde.diffusionAt(t);
  return { x: sde.driftCoefAt(t), score: -lambda * g * g };
}
