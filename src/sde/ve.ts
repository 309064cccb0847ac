import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { LinearDriftSDE } from './base.js';
import type { Marginal, SDEConfig } from './types.js';

/**
 * Variance-exploding SDE dx = sqrt(d sigma^2/dt) dW with sigma(t) = sigma_min (sigma_max/sigma_min)^t,
 * so g(t) = sigma(t) sqrt(2 log(sigma_max/sigma_min)). Started at x_0 it has mean(t) = 1 and the
 * exact std(t) = sqrt(sigma(t)^2 - sigma_min^2) (score_sde uses sigma(t), which differs by
 * sigma_min^2/(2 sigma(t)^2) relatively); prior N(0, std(1)^2 I).
 */
export class VESDE extends LinearDriftSDE {
  readonly name = 've' as const;
  readonly T = 1;
  readonly priorStd: number;
  private readonly logRatio: number;

  constructor(readonly sigmaMin: number, readonly sigmaMax: number, readonly config: SDEConfig) {
    super();
    if (!(Number.isFinite(sigmaMin) && sigmaMin > 0)) throw new UsageError(`--sigma-min: expected a positive number, got ${sigmaMin}`);
    if (!(Number.isFinite(sigmaMax) && sigmaMax > sigmaMin)) {
      throw new UsageError(`--sigma-max: expected a number greater than --sigma-min (${sigmaMin}), got ${sigmaMax}`);
    }
    this.logRatio = Math.log(sigmaMax / sigmaMin);
    this.priorStd = this.marginalAt(1).std;
  }

  private sigma(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(this.sigmaMin, tf.exp(tf.mul(this.logRatio, t))));
  }

  driftCoef(t: tf.Tensor): tf.Tensor {
    return tf.zerosLike(t);
  }

  diffusion(t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(this.sigma(t), Math.sqrt(2 * this.logRatio)));
  }

  marginal(t: tf.Tensor): Marginal<tf.Tensor> {
    return tf.tidy(() => {
      // sigma(t)^2 - sigma_min^2 = sigma_min^2 (exp(2 r t) - 1), with the series
      // u (1 + u/2 (1 + u/3 (1 + u/4 (1 + u/5)))) below u = 0.1 (relative error < 2e-8), where
      // exp(u) - 1 in float32 would cancel.
      const u = tf.mul(2 * this.logRatio, t);
      const series = tf.mul(u, tf.add(1, tf.mul(tf.mul(u, 0.5), tf.add(1, tf.mul(tf.div(u, 3), tf.add(1, tf.mul(tf.div(u, 4), tf.add(1, tf.div(u, 5)))))))));
      const expm1 = tf.where(tf.less(u, 0.1), series, tf.sub(tf.exp(u), 1));
      return { mean: tf.onesLike(t), std: tf.mul(this.sigmaMin, tf.sqrt(expm1)) };
    });
  }

  driftCoefAt(): number {
    return 0;
  }

  diffusionAt(t: number): number {
    return this.sigmaMin * Math.exp(this.logRatio * t) * Math.sqrt(2 * this.logRatio);
  }

  marginalAt(t: number): Marginal<number> {
    return { mean: 1, std: this.sigmaMin * Math.sqrt(Math.expm1(2 * this.logRatio * t)) };
  }
}
