import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { epsToScore, scoreToEps } from '../sde/parameterization.js';
import type { ConditionalScore, SDE } from '../sde/types.js';
import { appendDims } from '../tensor/dims.js';
import { createNetwork, type Network, type NetworkConfig } from './network.js';
import type { Params } from './params.js';

/** What the network's output means: eps (score = -eps / std(t)) or the score itself. */
export const PARAMETERIZATIONS = ['eps', 'score'] as const;
export type Parameterization = (typeof PARAMETERIZATIONS)[number];

/** Checks a parameterization name (eps: s = -eps / std, or score); errors name `flag`. */
export function parseParameterization(value: string, flag = '--param'): Parameterization {
  if ((PARAMETERIZATIONS as readonly string[]).includes(value)) return value as Parameterization;
  throw new UsageError(`${flag}: unknown parameterization '${value}', expected one of ${PARAMETERIZATIONS.join(', ')}`);
}

/**
 * - 'marginal': the network sees x / sqrt(mean(t)^2 + std(t)^2), which has about unit scale for
 *   standardized data on every SDE (it matters for VE, where std(T) = sigma_max; for VP the
 *   factor is exactly 1 and is skipped).
 * - 'none': the network sees x_t as it is.
 */
export type InputScaling = 'none' | 'marginal';

/** Everything that rebuilds a score model besides its SDE and weights (stored in checkpoints). */
export interface ModelConfig {
  network: NetworkConfig;
  parameterization: Parameterization;
  inputScaling: InputScaling;
}

/**
 * A noise predictor eps(x_t, t[, y]) ~ E[z | x_t, y] for x_t = mean(t) x_0 + std(t) z; labels y
 * (int32, a scalar or [B]) only for class-conditional models, where absent means the null label.
 */
export type EpsFn = (x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor) => tf.Tensor;

/**
 * A network with its parameterization on an SDE. `score` is a ScoreFn for any solver and
 * `eps` the matching noise prediction (eps = -std(t) score); both accept a scalar t or one
 * time per sample and return tensors of x's shape (the caller disposes them).
 * A class-conditional model (network config with numClasses = K) also takes labels y in 0..K
 * (K = null label); `score` without labels is the unconditional score s(x, t, null), and
 * `conditionalScore(x, t, c)` = s(x, t, c) for one class c (null: unconditional) for the batch.
 */
export class ScoreModel {
  readonly network: Network;
  readonly score: (x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor) => tf.Tensor;
  readonly eps: EpsFn;
  /** Classes K of a class-conditional model, else undefined. */
  readonly numClasses: number | undefined;
  /** s(x, t, c) with class c (or null, the null label) for the whole batch; class-conditional models only. */
  readonly conditionalScore: ConditionalScore | undefined;

  constructor(readonly sde: SDE, readonly config: ModelConfig, readonly params: Params, network?: Network) {
    this.network = network ?? createNetwork(config.network);
    this.score = (x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor) => this.scoreOf(x, t, labels);
    this.eps = (x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor) => this.epsOf(x, t, labels);
    const K = config.network.numClasses;
    this.numClasses = K;
    this.conditionalScore =
      K === undefined
        ? undefined
        : (x, t, label) => {
            if (label !== null && !(Number.isInteger(label) && label >= 0 && label < K)) throw new Error(`class ${label} is out of range 0..${K - 1}`);
            return tf.tidy(() => this.scoreOf(x, t, tf.scalar(label ?? K, 'int32')));
          };
  }

  /** The raw network output at (x, t[, labels]), after the input scaling. */
  output(x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let input = x;
      if (this.config.inputScaling === 'marginal' && this.sde.name !== 'vp') {
        const { mean, std } = this.sde.marginal(t);
        const scale = tf.rsqrt(tf.add(tf.square(mean), tf.square(std)));
        input = tf.mul(x, appendDims(scale, x.rank));
      }
      return this.network.apply(this.params, input, t, labels);
    });
  }

  private scoreOf(x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const out = this.output(x, t, labels);
      return this.config.parameterization === 'score' ? out : epsToScore(out, this.sde.marginal(t));
    });
  }

  private epsOf(x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const out = this.output(x, t, labels);
      return this.config.parameterization === 'eps' ? out : scoreToEps(out, this.sde.marginal(t));
    });
  }
}
