import * as tf from '@tensorflow/tfjs';
import { LinearDriftSDE } from './base.js';
import type { BetaSchedule } from './schedules.js';
import type { Marginal, SDEConfig } from './types.js';
import { expm1Neg } from './vp.js';

/**
 * Sub-VP SDE dx = -1/2 beta(t) x dt + sqrt(beta(t) (1 - exp(-2 B(t)))) dW (Song et al. 2021).
 * mean(t) = exp(-B/2), std(t) = 1 - exp(-B); prior N(0, I).
 */
export class SubVPSDE extends LinearDriftSDE {
  readonly name = 'subvp' as const;
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
    return tf.tidy(() => tf.sqrt(tf.mul(this.schedule.beta(t), expm1Neg(tf.mul(2, this.schedule.integral(t))))));
  }

  marginal(t: tf.Tensor): Marginal<tf.Tensor> {
    return tf.tidy(() => {
      const B = this.schedule.integral(t);
      return { mean: tf.exp(tf.mul(-0.5, B)), std: expm1Neg(B) };
    });
  }

  driftCoefAt(t: number): number {
    return -0.5 * this.schedule.betaAt(t);
  }

  diffusionAt(t: number): number {
    return Math.sqrt(this.schedule.betaAt(t) * -Math.expm1(-2 * this.schedule.integralAt(t)));
  }

  marginalAt(t: number): Marginal<number> {
    const B = this.schedule.integralAt(t);
    return { mean: Math.exp(-0.5 * B), std: -Math.expm1(-B) };
  }
}
