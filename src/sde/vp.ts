import * as tf from '@tensorflow/tfjs';
import { LinearDriftSDE } from './base.js';
import type { BetaSchedule } from './schedules.js';
import type { Marginal, SDEConfig } from './types.js';

/**
 * Variance-preserving SDE dx = -1/2 beta(t) x dt + sqrt(beta(t)) dW (Song et al. 2021).
 * With B(t) = int_0^t beta: mean(t) = exp(-B/2), std(t) = sqrt(1 - exp(-B)); prior N(0, I).
 */
export class VPSDE extends LinearDriftSDE {
  readonly name: 'vp' | 'subvp' = 'vp';
  readonly T: number;
  readonly priorStd = 1;

  constructor(readonly schedule: BetaSchedule, readonly config: SDEConfig) {
    super();
    this.T = schedule.T;
  }

  driftCoef(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(-0.5, this.schedule.beta(t)));
  }

  diffusion(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.sqrt(this.schedule.beta(t)));
  }

  marginal(t: tf.Tensor): Marginal<tf.Tensor> {
    return tf.tidy(() => {
      const B = this.schedule.integral(t);
      // 1 - exp(-B) = -expm1(-B); computed as such to keep precision at small t.
      return { mean: tf.exp(tf.mul(-0.5, B)), std: tf.sqrt(expm1Neg(B)) };
    });
  }

  driftCoefAt(t: number): number {
    return -0.5 * this.schedule.betaAt(t);
  }

  diffusionAt(t: number): number {
    return Math.sqrt(this.schedule.betaAt(t));
  }

  marginalAt(t: number): Marginal<number> {
    const B = this.schedule.integralAt(t);
    return { mean: Math.exp(-0.5 * B), std: Math.sqrt(-Math.expm1(-B)) };
  }
}

/**
 * 1 - exp(-B) for B >= 0 on tensors, accurate for small B without relying on a backend's expm1:
 * the series B - B^2/2 + B^3/6 - B^4/24 + B^5/120 below 0.1 (relative truncation error
 * <= B^5/720 < 2e-8), the direct form above (cancellation error <= 2^-24/0.1 < 1e-6).
 * (A 3-term series below 1e-3 left the direct form's cancellation error, up to 3e-5 in std,
 * just above the switch.)
 */
export function expm1Neg(B: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const series = tf.mul(B, tf.sub(1, tf.mul(tf.mul(B, 0.5), tf.sub(1, tf.mul(tf.div(B, 3), tf.sub(1, tf.mul(tf.div(B, 4), tf.sub(1, tf.div(B, 5)))))))));
    return tf.where(tf.less(B, 0.1), series, tf.sub(1, tf.exp(tf.neg(B))));
  });
}
