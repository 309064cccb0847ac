import * as tf from '@tensorflow/tfjs';
import { REVERSE_SDE } from '../sde/reverse.js';
import { heunStep } from './common.js';
import { defineSolver } from './types.js';

/**
 * Stochastic improved Euler (Heun) on the reverse SDE, the higher-order half of the pair of
 * Jolicoeur-Martineau et al. (2021), from t to t' = t - h with one normal draw z per step:
 *   k1 = F(x, t),  x~ = x - h k1 + g(t) sqrt(h) z,  k2 = F(x~, t'),
 *   x' = x - h/2 (k1 + k2) + (g(t) + g(t'))/2 sqrt(h) z,
 * where F(x, t) = a(t) x - g(t)^2 s(x, t) is the reverse-time drift. The noise is additive (g
 * depends on t only), so the scheme is the trapezoid rule in the drift with the same increment
 * in both stages. Two NFE per step.
 */
export const improvedEuler = defineSolver({
  info: {
    name: 'improved-euler', kind: 'sde', order: 2, adaptive: false, defaultSteps: 100, defaultGrid: 'uniform',
    description: 'stochastic improved Euler (Heun) on the reverse-time SDE (Jolicoeur-Martineau et al. 2021)',
  },
  options: {},
  nfe: ({ steps }) => 2 * steps,
  create: (ctx, { grid }) => ({
    times: grid!,
    step: (x, i) => {
      const [t, tNext] = [grid![i], grid![i + 1]];
      const z = ctx.noise(x.shape, i, 0, { from: t, to: tNext });
      const root = Math.sqrt(t - tNext);
      const g = ctx.sde.diffusionAt(t);
      const noise = { predictor: tf.mul(z, g * root), corrector: tf.mul(z, ((g + ctx.sde.diffusionAt(tNext)) / 2) * root) };
      return heunStep(ctx.sde, ctx.score, x, t, tNext, REVERSE_SDE, noise);
    },
  }),
});
