import * as tf from '@tensorflow/tfjs';
import { flowDrift } from './common.js';
import type { StepContext, Stepper } from './types.js';

/**
 * Euler on the probability-flow ODE dx/dt = F(x, t) = a(t) x - 1/2 g(t)^2 s(x, t), from t to
 * t' = t - h: x' = x - h F(x, t). One NFE per step, order 1.
 */
export function odeEuler(ctx: StepContext, times: Float64Array): Stepper {
  return {
    times,
    step: (x, i) => tf.sub(x, tf.mul(flowDrift(ctx.sde, ctx.score, x, times[i]), times[i] - times[i + 1])),
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
