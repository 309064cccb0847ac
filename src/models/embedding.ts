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
