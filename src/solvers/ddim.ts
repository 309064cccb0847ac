import * as tf from '@tensorflow/tfjs';
import type { OptionsOf, Schema } from '../options/schema.js';
import { time, transition } from './common.js';
import { defineSolver, type StepContext, type Stepper } from './types.js';

const DDIM_OPTIONS = { eta: { type: 'number', min: 0, default: 0, doc: 'ddim: 0 deterministic .. 1 ancestral' } } as const satisfies Schema;

/**
 * DDIM (Song, Meng & Ermon 2021) for x_t = m(t) x_0 + s(t) z, from t to t' < t:
 * eps^ = -s s(x, t), x0^ = (x - s eps^) / m, sigma^2 = eta^2 v s'^2 / s^2 with the forward
 * transition variance v = s^2 - (m/m')^2 s'^2, and x' = m' x0^ + sqrt(s'^2 - sigma^2) eps^ + sigma z.
 * (v = beta_i on VP), eta = 0 is deterministic (a first-order solver of the probability-flow ODE), eta = 1 is the
 * DDPM posterior (beta-tilde) step. One NFE per step.
 */
function ddimStepper(ctx: StepContext<OptionsOf<typeof DDIM_OPTIONS>>, times: Float64Array): Stepper {
  const eta = ctx.options.eta ?? 0;
  return {
    times,
    step: (x, i) => {
      const a = ctx.sde.marginalAt(times[i]);
      const b = ctx.sde.marginalAt(times[i + 1]);
      const ratio = b.mean / a.mean;
      const { v } = transition(ctx.sde, times[i + 1], times[i]);
      const sigma2 = (eta * eta * v * b.std * b.std) / (a.std * a.std);
      const c = Math.sqrt(Math.max(b.std * b.std - sigma2, 0));
      // x' = ratio x + (ratio s^2 - c s) score + sigma z.
      const s = ctx.score(x, time(times[i]));
      const mean = tf.add(tf.mul(x, ratio), tf.mul(s, a.std * (ratio * a.std - c)));
      return sigma2 > 0 ? tf.add(mean, tf.mul(ctx.noise(x.shape, i, 0, { from: times[i], to: times[i + 1] }), Math.sqrt(sigma2))) : mean;
    },
  };
}

/** The ddim solver. */
export const ddim = defineSolver({
  info: { name: 'ddim', kind: 'ode', order: 1, adaptive: false, defaultSteps: 100, defaultGrid: 'quadratic', description: 'DDIM; eta = 0 deterministic (ODE), eta = 1 ancestral' },
  options: DDIM_OPTIONS,
  create: (ctx, { grid }) => ddimStepper(ctx, grid!),
});
