import * as tf from '@tensorflow/tfjs';
import { time } from './common.js';
import type { StepContext, Stepper } from './types.js';

/**
 * Euler-Maruyama on the reverse SDE, from t to t' = t - h:
 * x' = x - h [a(t) x - g(t)^2 s(x, t)] + g(t) sqrt(h) z. One NFE per step, weak order 1.
 * Computed as (1 - h a) x + h g^2 s + g sqrt(h) z with the coefficients on the host: five
 * elementwise kernels besides the score instead of seven.
 */
export function eulerMaruyamaStep(ctx: StepContext, x: tf.Tensor, t: number, tNext: number, step: number, stage = 0): tf.Tensor {
  const h = t - tNext;
  const g = ctx.sde.diffusionAt(t);
  const a = ctx.sde.driftCoefAt(t);
  const mean = tf.add(tf.mul(x, 1 - h * a), tf.mul(ctx.score(x, time(t)), h * g * g));
  return tf.add(mean, tf.mul(ctx.noise(x.shape, step, stage), g * Math.sqrt(h)));
}

/** The euler-maruyama solver on a grid. */
export function eulerMaruyama(ctx: StepContext, times: Float64Array): Stepper {
  return { times, step: (x, i) => eulerMaruyamaStep(ctx, x, times[i], times[i + 1], i) };
}
