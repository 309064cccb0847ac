import * as tf from '@tensorflow/tfjs';
import { REVERSE_SDE } from '../sde/reverse.js';
import { eulerStep } from './common.js';
import { defineSolver, type StepContext } from './types.js';

/**
 * Euler-Maruyama on the reverse SDE, from t to t' = t - h:
 * x' = x - h [a(t) x - g(t)^2 s(x, t)] + g(t) sqrt(h) z. One NFE per step, weak order 1.
 * The drift increment (-h a) x + h g^2 s is added to x in one add (eulerStep), with the
 * coefficients on the host.
 */
export function eulerMaruyamaStep(ctx: StepContext, x: tf.Tensor, t: number, tNext: number, step: number, stage = 0): tf.Tensor {
  const h = t - tNext;
  const g = ctx.sde.diffusionAt(t);
  return tf.add(eulerStep(ctx.sde, ctx.score, x, t, h, REVERSE_SDE), tf.mul(ctx.noise(x.shape, step, stage, { from: t, to: tNext }), g * Math.sqrt(h)));
}

/** The euler-maruyama solver. */
export const eulerMaruyama = defineSolver({
  info: { name: 'euler-maruyama', kind: 'sde', order: 1, adaptive: false, defaultSteps: 500, defaultGrid: 'uniform', description: 'Euler-Maruyama on the reverse-time SDE' },
  options: {},
  create: (ctx, { grid }) => ({ times: grid!, step: (x, i) => eulerMaruyamaStep(ctx, x, grid![i], grid![i + 1], i) }),
});
