import * as tf from '@tensorflow/tfjs';
import { reverseDrift } from './common.js';
import type { StepContext, Stepper } from './types.js';

/**
 * Euler-Maruyama on the reverse SDE, from t to t' = t - h:
 * x' = x - h [a(t) x - g(t)^2 s(x, t)] + g(t) sqrt(h) z. One NFE per step, weak order 1.
 */
export function eulerMaruyamaStep(ctx: StepContext, x: tf.Tensor, t: number, tNext: number, step: number, stage = 0): tf.Tensor {
  const h = t - tNext;
  const g = ctx.sde.diffusionAt(t);
  const mean = tf.sub(x, tf.mul(reverseDrift(ctx.sde, ctx.score, x, t), h));
  return tf.add(mean, tf.mul(ctx.noise(x.shape, step, stage), g * Math.sqrt(h)));
}

/** The euler-maruyama solver on a grid. */
export function eulerMaruyama(ctx: StepContext, times: Float64Array): Stepper {
  return { times, step: (x, i) => eulerMaruyamaStep(ctx, x, times[i], times[i + 1], i) };
}
