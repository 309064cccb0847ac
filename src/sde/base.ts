import * as tf from '@tensorflow/tfjs';
import { normalArray } from '../random.js';
import { appendDims, dimsPerSample, sumPerSample } from '../tensor/dims.js';
import type { Marginal, SDE, SDEConfig, SDEName } from './types.js';

/**
 * Shared parts of the linear-drift SDEs: drift f = a(t) x, the Gaussian prior
 * N(0, priorStd^2 I) and its log-density. Subclasses give a(t), g(t) and the marginal.
 */
export abstract class LinearDriftSDE implements SDE {
  abstract readonly name: SDEName;
  abstract readonly T: number;
  abstract readonly config: SDEConfig;
  abstract readonly priorStd: number;
  abstract driftCoef(t: tf.Tensor): tf.Tensor;
  abstract diffusion(t: tf.Tensor): tf.Tensor;
  abstract marginal(t: tf.Tensor): Marginal<tf.Tensor>;
  abstract driftCoefAt(t: number): number;
  abstract diffusionAt(t: number): number;
  abstract marginalAt(t: number): Marginal<number>;

  /** f(x, t) = a(t) x. */
  drift(x: tf.Tensor, t: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.mul(appendDims(this.driftCoef(t), x.rank), x));
  }

  /** z ~ N(0, priorStd^2 I): seeded draws from src/random.ts (the same on every backend), else tfjs's generator. */
  priorSample(shape: number[], seed?: number): tf.Tensor {
    if (seed === undefined) return tf.randomNormal(shape, 0, this.priorStd, 'float32');
    const z = normalArray(shape.reduce((a, b) => a * b, 1), seed);
    for (let i = 0; i < z.length; i++) z[i] *= this.priorStd;
    return tf.tensor(z, shape, 'float32');
  }

  /** log N(z; 0, s^2 I) = -|z|^2 / (2 s^2) - D/2 log(2 pi s^2), per sample. */
  priorLogProb(z: tf.Tensor): tf.Tensor1D {
    const s = this.priorStd;
    const d = dimsPerSample(z.shape);
    return tf.tidy(() =>
      tf.sub(tf.mul(sumPerSample(tf.square(z)), -0.5 / (s * s)), 0.5 * d * Math.log(2 * Math.PI * s * s)),
    ) as tf.Tensor1D;
  }
}
