import * as tf from '@tensorflow/tfjs';
import type { ParamSpec, Params } from './params.js';

/**
 * Time embeddings e(t) = [sin(t w), cos(t w)] with frequencies w of length dim/2, computed as
 * one sin(t [w, w] + [0, pi/2]) (a single transcendental kernel, no concat):
 * - 'fourier': Gaussian random Fourier features (Tancik et al. 2020; Song et al. 2021),
 *   w = 2 pi W, W ~ N(0, scale^2), fixed at initialization (saved with the weights).
 * - 'sinusoidal': the Transformer/DDPM embedding of the step timeScale * t,
 *   w_k = timeScale * maxPeriod^(-k / (dim/2 - 1)), k = 0..dim/2-1.
 * t is the continuous time in [0, T]; a scalar t is broadcast over the batch.
 */
export type TimeEmbeddingConfig =
  | { kind: 'fourier'; dim: number; scale: number }
  | { kind: 'sinusoidal'; dim: number; maxPeriod: number; timeScale: number };

export const DEFAULT_FOURIER: TimeEmbeddingConfig = { kind: 'fourier', dim: 32, scale: 16 };
export const DEFAULT_SINUSOIDAL: TimeEmbeddingConfig = { kind: 'sinusoidal', dim: 32, maxPeriod: 10000, timeScale: 1000 };

/** Checks a time-embedding config: an even dim >= 4, a positive Fourier scale, maxPeriod > 1 and timeScale > 0. */
export function checkEmbeddingConfig(c: TimeEmbeddingConfig): void {
  if (!(Number.isInteger(c.dim) && c.dim >= 4 && c.dim % 2 === 0)) throw new Error(`time embedding: dim must be an even integer >= 4, got ${c.dim}`);
  if (c.kind === 'fourier' && !(c.scale > 0)) throw new Error(`time embedding: scale must be positive, got ${c.scale}`);
  if (c.kind === 'sinusoidal' && !(c.maxPeriod > 1 && c.timeScale > 0)) throw new Error('time embedding: maxPeriod must exceed 1 and timeScale be positive');
}

/** The buffers `${prefix}.w` (frequencies [w, w]) and `${prefix}.phase` ([0, pi/2]), non-trainable. */
export function embeddingSpecs(c: TimeEmbeddingConfig, prefix = 'temb'): ParamSpec[] {
  const half = c.dim / 2;
  const phase: ParamSpec = {
    name: `${prefix}.phase`,
    shape: [c.dim],
    init: { kind: 'values', values: Array.from({ length: c.dim }, (_, k) => (k < half ? 0 : Math.PI / 2)) },
    trainable: false,
  };
  if (c.kind === 'fourier') {
    return [{ name: `${prefix}.w`, shape: [c.dim], init: { kind: 'normal', std: 2 * Math.PI * c.scale, tile: 2 }, trainable: false }, phase];
  }
  const w = Array.from({ length: half }, (_, k) => c.timeScale * Math.pow(c.maxPeriod, -k / (half - 1)));
  return [{ name: `${prefix}.w`, shape: [c.dim], init: { kind: 'values', values: [...w, ...w] }, trainable: false }, phase];
}

/**
 * e(t): [batch, dim]. t is a scalar (or [1]: one time for the whole batch, embedded once and
 * broadcast) or [batch].
 */
export function timeEmbedding(params: Params, t: tf.Tensor, batch: number, prefix = 'temb'): tf.Tensor2D {
  const shared = t.rank === 0 || (t.rank === 1 && t.shape[0] === 1);
  if (!shared && (t.rank !== 1 || t.shape[0] !== batch)) {
    throw new Error(`time must be a scalar or have one value per sample (${batch}), got shape [${t.shape}]`);
  }
  const w = params[`${prefix}.w`];
  const e = tf.sin(tf.add(tf.mul(t.reshape([-1, 1]), w.reshape([1, -1])), params[`${prefix}.phase`]));
  return (shared && batch !== 1 ? tf.mul(tf.ones([batch, 1]), e) : e) as tf.Tensor2D;
}

/**
 * Class-label embedding for class-conditional networks: a learned table of numClasses + 1 rows
 * of width dim, `${prefix}.table`, the last row (index numClasses) being the null label
 * (unconditional, for classifier-free guidance). Initialized N(0, 1) like torch's nn.Embedding.
 */
export function labelEmbeddingSpecs(numClasses: number, dim: number, prefix = 'label'): ParamSpec[] {
  return [{ name: `${prefix}.table`, shape: [numClasses + 1, dim], init: { kind: 'normal', std: 1 }, trainable: true }];
}

/** Checks a network's optional numClasses: an integer >= 1 when given. */
export function checkNumClasses(numClasses: number | undefined, what: string): void {
  if (numClasses !== undefined && !(Number.isInteger(numClasses) && numClasses >= 1)) {
    throw new Error(`${what}: numClasses must be a positive integer, got ${String(numClasses)}`);
  }
}

/**
 * The label embedding c(y) = onehot(y) table: [batch, dim] for labels [batch], or [1, dim] (to
 * broadcast over the batch) for a scalar or [1] label; y = numClasses is the null label. Absent
 * labels mean the null label for the whole batch. Labels are int32 in 0..numClasses (checked
 * only by the one-hot, which maps out-of-range labels to a zero row).
 * The lookup is a one-hot matMul rather than tf.gather: gather's gradient needs the
 * UnsortedSegmentSum kernel, which the wasm backend lacks, and wasm's oneHot with a float32
 * dtype returns int32 bit patterns, so the one-hot is made in int32 and cast.
 */
export function labelEmbedding(params: Params, labels: tf.Tensor | undefined, batch: number, numClasses: number, prefix = 'label'): tf.Tensor2D {
  return tf.tidy(() => {
    const y = labels ?? tf.scalar(numClasses, 'int32');
    const shared = y.rank === 0 || (y.rank === 1 && y.shape[0] === 1);
    if (!shared && (y.rank !== 1 || y.shape[0] !== batch)) {
      throw new Error(`labels must be a scalar or have one value per sample (${batch}), got shape [${y.shape}]`);
    }
    const idx = (y.dtype === 'int32' ? y : tf.cast(y, 'int32')).reshape([-1]) as tf.Tensor1D;
    const onehot = tf.cast(tf.oneHot(idx, numClasses + 1), 'float32') as tf.Tensor2D;
    return tf.matMul(onehot, params[`${prefix}.table`] as tf.Tensor2D);
  });
}
