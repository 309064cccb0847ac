import type * as tf from '@tensorflow/tfjs';
import type { Points } from '../eval/metrics.js';
import type { GaussianMixture } from '../oracle/mixture.js';
import type { ConditionalScore, ScoreFn, SDE } from '../sde/types.js';
import type { Imputation } from '../solvers/types.js';

/** What is sampled: an SDE, a score, the sample shape and how to show samples (an oracle mixture or a trained model). */
export interface ScoreSource {
  sde: SDE;
  score: ScoreFn;
  /** Shape of one sample, e.g. [2] or [28, 28, 1]. */
  sampleShape: number[];
  /** Samples as they are in data space, rows of numbers (undoes the training normalization). */
  toPoints(x: tf.Tensor): Points;
  /** Independent draws from the data distribution when the source knows it (the oracle), else undefined. */
  reference?: (n: number, seed: number) => Points;
  describe: string;
  dispose(): void;
  /** The oracle's mixture (for a class and exact conditional references), when the source is an oracle. */
  mixture?: GaussianMixture;
  /** Maps rows of data-space values to the model's coordinates (undoes toPoints' denormalization); identity when absent. */
  toModel?: (raw: Float32Array) => Float32Array;
  /** A class-conditional model's score s(x, t, c) (c null: unconditional) and its classes 0..numClasses-1. */
  conditional?: { score: ConditionalScore; numClasses: number };
}

/** A score source conditioned on a class and/or known values: its score guided, and the imputation for integrate. */
export type ConditionedSource = ScoreSource & { impute?: Imputation };
