import * as tf from '@tensorflow/tfjs';
import type { Adam } from './adam.js';
import type { EMA } from './ema.js';

/** What one optimisation step changes: the trained variables, their optimiser and (optionally) their EMA. */
export interface Optimised {
  trainVars: Record<string, tf.Variable>;
  adam: Adam;
  ema?: EMA;
}

/**
 * One gradient step on `loss()` (a scalar of the trained variables): g = grad loss, Adam's update
 * (warm-up, clipping) of the variables, then the EMA's update number `step`. Returns the loss and
 * the gradient norm before clipping, kept out of the caller's tidy scope (the caller disposes them
 * or adds them to its running sums).
 */
export function optimiserStep(target: Optimised, loss: () => tf.Scalar, step: number): { loss: tf.Scalar; gradNorm: tf.Scalar } {
  return tf.tidy(() => {
    const { value, grads } = tf.variableGrads(loss, Object.values(target.trainVars));
    const named: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(target.trainVars)) named[k] = grads[v.name];
    const gradNorm = target.adam.apply(target.trainVars, named);
    target.ema?.update(target.trainVars, step);
    return { loss: value, gradNorm };
  });
}
