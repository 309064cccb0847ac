import * as tf from '@tensorflow/tfjs';
import { time, transition } from './common.js';
import { defineSolver, type StepContext } from './types.js';

/**
 * Reverse-diffusion predictor (Song et al. 2021) from t to t' < t, with the forward step
 * discretized as x_t = x_t' + f_i + G_i z: f_i = (r - 1) x, G_i^2 = std(t)^2 - r^2 std(t')^2,
 * r = mean(t)/mean(t') (the exact linear transition; for VP r = sqrt(1 - beta_i), G_i^2 = beta_i
 * to first order, as in score_sde). Update: x' = x - f_i + G_i^2 s(x, t) + G_i z.
 */
export function reverseDiffusionStep(ctx: StepContext, x: tf.Tensor, t: number, tNext: number, step: number, stage = 0): tf.Tensor {
  const { r, v } = transition(ctx.sde, tNext, t);
  const mean = tf.add(tf.mul(x, 2 - r), tf.mul(ctx.score(x, time(t)), v));
  return tf.add(mean, tf.mul(ctx.noise(x.shape, step, stage, { from: t, to: tNext }), Math.sqrt(v)));
}

/** The reverse-diffusion solver. */
export const reverseDiffusion = defineSolver({
  info: {
    name: 'reverse-diffusion', kind: 'sde', order: 1, adaptive: false, defaultSteps: 500, defaultGrid: 'uniform',
    description: 'reverse-diffusion predictor of Song et al. (2021): x - f_i + G_i^2 s + G_i z',
  },
  options: {},
  create: (ctx, { grid }) => ({ times: grid!, step: (x, i) => reverseDiffusionStep(ctx, x, grid![i], grid![i + 1], i) }),
});
