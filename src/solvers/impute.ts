import * as tf from '@tensorflow/tfjs';
import type { SDE } from '../sde/types.js';
import { IMPUTE_STAGE } from './common.js';
import type { Imputation, NoiseSampler } from './types.js';

/** The prepared replacement of known coordinates for one run (see IntegrateOptions.impute). */
export interface Imputer {
  /**
   * x' = (1 - mask) x + mask (mean(t) values + std(t) z), z = noise(shape, step, IMPUTE_STAGE):
   * the known part replaced by a draw of q(x_t | x_0 = values). At std(t) = 0 no noise is drawn.
   */
  replace(x: tf.Tensor, t: number, step: number): tf.Tensor;
  /** x' = (1 - mask) x + mask values: the known coordinates set to their values exactly. */
  clamp(x: tf.Tensor): tf.Tensor;
  dispose(): void;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Checks an imputation against the state shape [n, ...sample] (values and mask each of the sample
 * shape or the full shape; mask entries 0 or 1; values finite where mask = 1: one read-back of
 * both at the start) and prepares it on the host: mask and known = mask values (0 where
 * unknown), of the larger of the two shapes, which broadcast over the batch.
 */
export function makeImputer(sde: SDE, imp: Imputation, shape: readonly number[], noise: NoiseSampler): Imputer {
  const sample = shape.slice(1);
  for (const [name, t] of [['values', imp.values], ['mask', imp.mask]] as const) {
    if (!sameShape(t.shape, sample) && !sameShape(t.shape, shape)) {
      throw new Error(`integrate: impute.${name} has shape [${t.shape}], expected the sample shape [${sample}] or [${shape}]`);
    }
  }
  const m = imp.mask.dataSync();
  const v = imp.values.dataSync();
  const L = Math.max(m.length, v.length);
  const maskHost = new Float32Array(L);
  const knownHost = new Float32Array(L);
  for (let i = 0; i < L; i++) {
    // The shorter of the two is one sample's worth, shared by every sample.
    const mi = Number(m[i % m.length]);
    const vi = Number(v[i % v.length]);
    if (mi !== 0 && mi !== 1) throw new Error(`integrate: impute.mask must hold 0 or 1, got ${mi}`);
    if (mi === 1 && !Number.isFinite(vi)) throw new Error(`integrate: impute.values must be finite where mask = 1, got ${vi} at ${i}`);
    maskHost[i] = mi;
    knownHost[i] = mi === 1 ? vi : 0;
  }
  const tShape = L === m.length ? imp.mask.shape : imp.values.shape;
  const mask = tf.tensor(maskHost, tShape, 'float32');
  const keep = tf.tensor(maskHost.map((mi) => 1 - mi), tShape, 'float32');
  const known = tf.tensor(knownHost, tShape, 'float32');
  const full = [...shape];
  return {
    replace: (x, t, step) => {
      const { mean, std } = t > 0 ? sde.marginalAt(t) : { mean: 1, std: 0 };
      const target = std > 0 ? tf.add(tf.mul(known, mean), tf.mul(tf.mul(noise(full, step, IMPUTE_STAGE), mask), std)) : tf.mul(known, mean);
      return tf.add(tf.mul(x, keep), target);
    },
    clamp: (x) => tf.add(tf.mul(x, keep), known),
    dispose: () => tf.dispose([mask, keep, known]),
  };
}
