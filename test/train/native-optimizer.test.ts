import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { selectBackend } from '../../src/backend.js';
import { nativeAdamStep, nativeEmaStep } from '../../src/native.js';
import { Adam } from '../../src/train/adam.js';
import { EMA } from '../../src/train/ema.js';

/*
 * With the native kernels installed, Adam and the EMA update their variables in place; the
 * result must be bitwise what the tensor arithmetic gives. A tensor that shares its memory with
 * another (a reshaped view) is never written in place.
 */
function values(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return scale * (s / 2 ** 31 - 1);
  });
}

function run(inPlaceAllowed: boolean): { params: Float32Array[]; m: Float32Array[]; ema: Float32Array[]; inPlace: boolean; kept: boolean } {
  return tf.tidy(() => {
    const shapes: Record<string, number[]> = { w: [37, 19], b: [19] };
    const vars: Record<string, tf.Variable> = {};
    for (const [k, shape] of Object.entries(shapes)) vars[k] = tf.variable(tf.tensor(values(shape.reduce((a, c) => a * c, 1), k.length + 1), shape), true, `p-${k}-${inPlaceAllowed}`);
    const adam = new Adam({ lr: 1e-2, warmup: 3, gradClip: 0.5 }, vars);
    const ema = new EMA(0.9, vars);
    let inPlace = false;
    let kept = false;
    for (let step = 0; step < 5; step++) {
      const grads: Record<string, tf.Tensor> = {};
      for (const [k, v] of Object.entries(vars)) grads[k] = tf.tensor(values(v.size, 100 * step + k.length, 3), v.shape);
      if (step === 4 && inPlaceAllowed) {
        // Probe: does the kernel run in place on a variable that owns its memory?
        const probe = tf.tidy(() => tf.variable(tf.zeros([3])));
        const one = tf.ones([3]);
        inPlace = nativeEmaStep(probe, one, 0.5);
        if (inPlace) expect(Array.from(probe.dataSync())).toEqual([0.5, 0.5, 0.5]);
        tf.dispose([probe, one]);
      }
      // A reshaped view of every variable and average shares its memory, which forces the tensor path.
      const pins = inPlaceAllowed ? [] : [...Object.values(vars), ...Object.values(ema.shadow)].map((v) => tf.reshape(v, [-1]));
      const before = [vars.w.dataId, vars.b.dataId, ema.shadow.w.dataId];
      adam.apply(vars, grads).dispose();
      ema.update(vars, step);
      tf.dispose(pins);
      // Written in place, a variable keeps its memory; assigned, it gets new memory.
      if (step === 4) kept = [vars.w.dataId, vars.b.dataId, ema.shadow.w.dataId].every((id, i) => id === before[i]);
    }
    const out = {
      params: Object.values(vars).map((v) => v.dataSync() as Float32Array),
      m: Object.values(adam.m).map((v) => v.dataSync() as Float32Array),
      ema: Object.values(ema.shadow).map((v) => v.dataSync() as Float32Array),
      inPlace,
      kept,
    };
    Object.values(vars).forEach((v) => v.dispose());
    adam.dispose();
    ema.dispose();
    return out;
  });
}

describe('Adam and EMA in place (native kernels when installed)', () => {
  test('in place and tensor updates agree bitwise over 5 steps with warm-up and clipping', async () => {
    const info = await selectBackend('auto');
    const native = run(true);
    const tensors = run(false);
    expect(native.inPlace).toBe(info.nativeMatMul !== null);
    expect(native.kept).toBe(info.nativeMatMul !== null);
    expect(tensors.kept).toBe(false);
    native.params.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(tensors.params[i])));
    native.m.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(tensors.m[i])));
    native.ema.forEach((p, i) => expect(Array.from(p)).toEqual(Array.from(tensors.ema[i])));
  });

  test('a tensor sharing its memory with another is not written in place', () => {
    const a = tf.tidy(() => tf.variable(tf.tensor1d([1, 2, 3])));
    const alias = tf.reshape(a, [3, 1]);
    const g = tf.tensor1d([1, 1, 1]);
    const m = tf.variable(tf.zeros([3]));
    const v = tf.variable(tf.zeros([3]));
    const f = tf.scalar(1);
    expect(nativeAdamStep(a, g, m, v, f, 0.1, 0.9, 0.999, 1e-8)).toBe(false);
    expect(nativeEmaStep(a, g, 0.5)).toBe(false);
    expect(Array.from(a.dataSync())).toEqual([1, 2, 3]);
    expect(Array.from(alias.dataSync())).toEqual([1, 2, 3]);
    tf.dispose([a, alias, g, m, v, f]);
  });
});
