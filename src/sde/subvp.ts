import * as tf from '@tensorflow/tfjs';
import type { Marginal } from './types.js';
import { expm1Neg, VPSDE } from './vp.js';

/**
 * Sub-VP SDE dx = -1/2 beta(t) x dt + sqrt(beta(t) (1 - exp(-2 B(t)))) dW (Song et al. 2021):
 * the VP drift with a smaller diffusion, so mean(t) = exp(-B/2) and std(t) = 1 - exp(-B); prior N(0, I).
 */
export class SubVPSDE extends VPSDE {
  override readonly name = 'subvp' as const;

  override diffusion(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.sqrt(tf.mul(this.schedule.beta(t), expm1Neg(tf.mul(2, this.schedule.integral(t))))));
  }

  override marginal(t: tf.Tensor): Marginal<tf.Tensor> {
    return tf.tidy(() => {
      const B = this.schedule.integral(t);
      return { mean: tf.exp(tf.mul(-0.5, B)), std: expm1Neg(B) };
    });
  }

  override diffusionAt(t: number): number {
    return Math.sqrt(this.schedule.betaAt(t) * -Math.expm1(-2 * this.schedule.integralAt(t)));
  }

  override marginalAt(t: number): Marginal<number> {
    const B = this.schedule.integralAt(t);
    return { mean: Math.exp(-0.5 * B), std: -Math.expm1(-B) };
  }
}
