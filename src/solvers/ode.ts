import * as tf from '@tensorflow/tfjs';
import { flowDrift, time } from './common.js';
import type { StepContext, Stepper } from './types.js';

/**
 * Euler on the probability-flow ODE dx/dt = F(x, t) = a(t) x - 1/2 g(t)^2 s(x, t), from t to
 * t' = t - h: x' = x - h F(x, t). One NFE per step, order 1.
 */
export function odeEuler(ctx: StepContext, times: Float64Array): Stepper {
  return {
    times,
    // x - h (a x - 1/2 g^2 s) = (1 - h a) x + 1/2 h g^2 s, with the coefficients on the host.
    step: (x, i) => {
      const t = times[i];
      const h = t - times[i + 1];
      const g = ctx.sde.diffusionAt(t);
      return tf.add(tf.mul(x, 1 - h * ctx.sde.driftCoefAt(t)), tf.mul(ctx.score(x, time(t)), 0.5 * h * g * g));
    },
  };
}

/**
 * Heun (explicit trapezoid) on the probability-flow ODE: k1 = F(x, t), x~ = x - h k1,
 * k2 = F(x~, t'), x' = x - h/2 (k1 + k2). Two NFE per step, order 2.
 */
export function odeHeun(ctx: StepContext, times: Float64Array): Stepper {
  return {
    times,
    step: (x, i) => {
      const h = times[i] - times[i + 1];
      const k1 = flowDrift(ctx.sde, ctx.score, x, times[i]);
      const k2 = flowDrift(ctx.sde, ctx.score, tf.sub(x, tf.mul(k1, h)), times[i + 1]);
      return tf.sub(x, tf.mul(tf.add(k1, k2), h / 2));
    },
  };
}
