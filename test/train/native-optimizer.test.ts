import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, test } from 'vitest';
import { adamCoefficients, adamStep, emaSteps } from '../../src/ops.js';
import { configureRuntime, runtimeOptionsFromEnv } from '../../src/runtime.js';
import { Adam } from '../../src/train/adam.js';
import { EMA } from '../../src/train/ema.js';

/*
 * The Adam and EMA ops (src/ops.ts) run one native kernel per parameter where the native
 * kernels are installed, else plain tfjs. Either way their results must be bitwise the float32
 * arithmetic emulated here on the host with Math.fround after every operation; and an updated
 * weight must be a new tensor, since the wasm backend caches convolution operators with packed
 * weights.
 */
function values(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return scale * (s / 2 ** 31 - 1);
  });
}

const f = Math.fround;

afterAll(async () => {
  await configureRuntime(runtimeOptionsFromEnv());
});

describe('Adam and EMA ops, native kernels on and off', () => {
  test.each([true, false])('native %s: one Adam step and one EMA update equal the float32 arithmetic, bitwise', async (native) => {
    await configureRuntime({ ...runtimeOptionsFromEnv(), native });
    const n = 777;
    const [p, g, m, v, e] = [values(n, 1), values(n, 2, 3), values(n, 3, 0.1), values(n, 4, 0.01).map(Math.abs), values(n, 5)];
    const factor = 0.8125;
    const [lr, beta1, beta2, eps, rate] = [2.5e-3, 0.9, 0.999, 1e-8, 0.001];
    const got = tf.tidy(() => {
      const t = (a: Float32Array) => tf.tensor1d(a);
      const adam = adamStep(t(p), t(g), t(m), t(v), adamCoefficients(tf.scalar(factor), { lr, beta1, beta2, eps }));
      const [ema] = emaSteps([t(e)], [t(p)], rate);
      return [...adam, ema].map((x) => x.dataSync());
    });
    const c1 = f(f(factor) * f(1 - beta1));
    const c2 = f(f(f(factor) * f(factor)) * f(1 - beta2));
    for (let i = 0; i < n; i++) {
      const mi = f(f(m[i] * f(beta1)) + f(g[i] * c1));
      const vi = f(f(v[i] * f(beta2)) + f(f(g[i] * g[i]) * c2));
      const pi = f(p[i] + f(f(-lr) * f(mi / f(f(Math.sqrt(vi)) + f(eps)))));
      expect([got[0][i], got[1][i], got[2][i]]).toEqual([pi, mi, vi]);
      expect(got[3][i]).toBe(f(e[i] - f(f(rate) * f(e[i] - p[i]))));
    }
  });

  test('after an Adam step, a convolution sees the new weights (no stale cached operator)', () => {
    const before = tf.memory().numTensors;
    const w = tf.tidy(() => tf.variable(tf.tensor4d(values(3 * 3 * 2 * 4, 9), [3, 3, 2, 4]), true, 'conv-w-native-test'));
    const x = tf.tensor4d(values(1 * 5 * 5 * 2, 10), [1, 5, 5, 2]);
    const adam = new Adam({ lr: 0.1, warmup: 0, gradClip: 0 }, { w });
    // The first convolution creates (and caches) the operator for w.
    tf.tidy(() => tf.conv2d(x, w, 1, 'same').dataSync());
    for (let step = 0; step < 3; step++) {
      tf.tidy(() => adam.apply({ w }, { w: tf.tensor4d(values(w.size, 30 + step), w.shape as [number, number, number, number]) }).dispose());
      const [viaVariable, viaCopy] = tf.tidy(() => [tf.conv2d(x, w, 1, 'same').dataSync(), tf.conv2d(x, tf.tensor4d(w.dataSync(), w.shape), 1, 'same').dataSync()]);
      expect(Array.from(viaVariable)).toEqual(Array.from(viaCopy));
    }
    tf.dispose([w, x]);
    adam.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('EMA.update and Adam.apply leave no tensors behind', () => {
    const w = tf.tidy(() => tf.variable(tf.tensor1d(values(50, 11))));
    const adam = new Adam({ lr: 1e-2 }, { w });
    const ema = new EMA(0.99, { w });
    const before = tf.memory().numTensors;
    for (let step = 0; step < 5; step++) {
      tf.tidy(() => {
        adam.apply({ w }, { w: tf.tensor1d(values(50, 20 + step)) }).dispose();
        ema.update({ w }, step);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(w);
    adam.dispose();
    ema.dispose();
  });
});
