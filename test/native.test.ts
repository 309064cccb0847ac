import * as tf from '@tensorflow/tfjs';
import { describe, expect, test } from 'vitest';
import { describeBackend } from '../src/backend.js';
import { denseSilu, silu } from '../src/models/layers.js';
import { loadNativeGemm } from '../src/native.js';
import { KERNELS } from '../src/ops.js';

/*
 * The native matMul kernels (src/native.ts, native/sde_gemm.c) replace the wasm backend's
 * BatchMatMul and _FusedMatMul when the addon built. Whatever runs, tf.matMul must equal a
 * float64 product computed here on the host.
 */

/** Deterministic values in [-1, 1) from a 32-bit LCG. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** op(A) op(B) in float64 for one batch entry: A stored [m, k] (or [k, m] transposed), B [k, n] (or [n, k]). */
function reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number, ta: boolean, tb: boolean): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      out[i * n + j] = sum;
    }
  }
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, k: number): void {
  expect(got.length).toBe(want.length);
  // float32 accumulation of k products of values in [-1, 1]: error grows like sqrt(k) ulps of the partial sums.
  const tol = 2e-6 * Math.max(1, Math.sqrt(k)) * Math.max(1, Math.sqrt(k));
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  expect(worst).toBeLessThan(tol);
}

describe('matrix products on the selected backend (native kernels when built)', () => {
  test('the backend reports the native kernels exactly when the addon loads on wasm', () => {
    const info = describeBackend();
    const available = loadNativeGemm() !== undefined && info.backend === 'wasm' && info.threads === 1 && process.env.SDE_NATIVE !== '0';
    expect(info.nativeMatMul !== null).toBe(available);
    if (available) expect(info.description).toMatch(/native (AVX2|AVX-512) matMul, \d+ threads?/);
  });

  const shapes: [number, number, number][] = [[1, 1, 1], [7, 5, 3], [6, 16, 16], [12, 32, 32], [37, 129, 17], [13, 300, 33], [25, 260, 47], [513, 64, 130], [5, 0, 4]];
  // Both tile kinds where the CPU has AVX-512: SDE_NATIVE_AVX512=0 selects the AVX2 tiles (read per product).
  test.each(shapes)('m %i, k %i, n %i: every transpose combination equals the float64 product (AVX-512 and AVX2 tiles)', (m, k, n) => {
    const before = tf.memory().numTensors;
    try {
      for (const wide of ['1', '0']) {
        process.env.SDE_NATIVE_AVX512 = wide;
        for (const ta of [false, true]) {
          for (const tb of [false, true]) {
            const a = values(m * k, 1 + m + k);
            const b = values(k * n, 7 + n);
            const got = tf.tidy(() => tf.matMul(tf.tensor2d(a, ta ? [k, m] : [m, k]), tf.tensor2d(b, tb ? [n, k] : [k, n]), ta, tb).dataSync());
            expectClose(got, reference(a, b, m, k, n, ta, tb), k);
          }
        }
      }
    } finally {
      delete process.env.SDE_NATIVE_AVX512;
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test('batched products, with either side broadcast over the batch', () => {
    const [B, m, k, n] = [3, 9, 20, 18];
    const a = values(B * m * k, 3);
    const b = values(B * k * n, 4);
    const full = tf.tidy(() => tf.matMul(tf.tensor3d(a, [B, m, k]), tf.tensor3d(b, [B, k, n])).dataSync());
    const left = tf.tidy(() => tf.matMul(tf.tensor3d(a.subarray(0, m * k), [1, m, k]), tf.tensor3d(b, [B, k, n])).dataSync());
    const right = tf.tidy(() => tf.matMul(tf.tensor3d(a, [B, m, k]), tf.tensor3d(b.subarray(0, k * n), [1, k, n])).dataSync());
    for (let i = 0; i < B; i++) {
      const ai = a.subarray(i * m * k, (i + 1) * m * k);
      const bi = b.subarray(i * k * n, (i + 1) * k * n);
      expectClose(full.subarray(i * m * n, (i + 1) * m * n), reference(ai, bi, m, k, n, false, false), k);
      expectClose(left.subarray(i * m * n, (i + 1) * m * n), reference(a.subarray(0, m * k), bi, m, k, n, false, false), k);
      expectClose(right.subarray(i * m * n, (i + 1) * m * n), reference(ai, b.subarray(0, k * n), m, k, n, false, false), k);
    }
  });

  test.each(['linear', 'relu', 'sigmoid', 'elu'] as const)('fused product with bias and %s activation (both tile kinds)', (activation) => {
    const [m, k, n] = [50, 34, 40];
    const a = values(m * k, 11);
    const b = values(k * n, 12);
    const bias = values(n, 13);
    const act = { linear: (v: number) => v, relu: (v: number) => Math.max(0, v), sigmoid: (v: number) => 1 / (1 + Math.exp(-v)), elu: (v: number) => (v > 0 ? v : Math.expm1(v)) }[activation];
    const want = reference(a, b, m, k, n, false, false).map((v, i) => act(v + bias[i % n]));
    try {
      for (const wide of ['1', '0']) {
        process.env.SDE_NATIVE_AVX512 = wide;
        const got = tf.tidy(() =>
          tf.fused.matMul({ a: tf.tensor2d(a, [m, k]), b: tf.tensor2d(b, [k, n]), bias: tf.tensor1d(bias), activation }).dataSync(),
        );
        expectClose(got, want, k);
      }
    } finally {
      delete process.env.SDE_NATIVE_AVX512;
    }
  });

  test('gradients of a product through tf.grads match the float64 ones', () => {
    const [m, k, n] = [12, 10, 8];
    const a = values(m * k, 21);
    const b = values(k * n, 22);
    const dy = values(m * n, 23);
    const [ga, gb] = tf.tidy(() => {
      const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), tf.tensor2d(dy, [m, n])));
      return tf.grads(f)([tf.tensor2d(a, [m, k]), tf.tensor2d(b, [k, n])]).map((g) => g.dataSync());
    });
    // dA = dY B^T, dB = A^T dY.
    expectClose(ga, reference(dy, b, m, n, k, false, true), n);
    expectClose(gb, reference(a, dy, k, m, n, true, false), m);
  });

  test('denseSilu outside a gradient tape (the native fused SiLU when installed) equals float64 silu(x w + b)', () => {
    const info = describeBackend();
    expect(tf.getKernel(KERNELS.denseSilu, tf.getBackend()) !== undefined).toBe(info.nativeMatMul !== null);
    const [m, k, n] = [301, 34, 128];
    const x = values(m * k, 31).map((v) => 4 * v);
    const w = values(k * n, 32);
    const bias = values(n, 33);
    const got = tf.tidy(() => denseSilu(tf.tensor2d(x, [m, k]), tf.tensor2d(w, [k, n]), tf.tensor1d(bias)).dataSync());
    const want = reference(x, w, m, k, n, false, false).map((v, i) => {
      const z = v + bias[i % n];
      return z / (1 + Math.exp(-z));
    });
    expectClose(got, want, 4 * k);
    // Under a tape the layer's own custom gradient runs; its value agrees.
    const taped = tf.tidy(() => {
      const [xt, wt, bt] = [tf.tensor2d(x, [m, k]), tf.tensor2d(w, [k, n]), tf.tensor1d(bias)];
      let value: Float32Array | undefined;
      tf.grad((v: tf.Tensor) => {
        const y = denseSilu(v, wt, bt);
        value = y.dataSync() as Float32Array;
        return tf.sum(y);
      })(xt);
      return value!;
    });
    expectClose(taped, want, 4 * k);
  });

  test('silu, its gradient and sin (native elementwise kernels when installed) equal float64', () => {
    const n = 1003;
    const x = values(n, 41).map((v) => 12 * v);
    const dy = values(n, 42);
    const [y, dx, sn] = tf.tidy(() => {
      const xt = tf.tensor1d(x);
      const [value, grad] = [silu(xt).dataSync(), tf.grad((v: tf.Tensor) => tf.sum(tf.mul(silu(v), tf.tensor1d(dy))))(xt).dataSync()];
      return [value, grad, tf.sin(xt).dataSync()];
    });
    for (let i = 0; i < n; i++) {
      const s = 1 / (1 + Math.exp(-x[i]));
      expect(Math.abs(y[i] - x[i] * s)).toBeLessThan(2e-6 * Math.max(1, Math.abs(x[i])));
      expect(Math.abs(dx[i] - dy[i] * (s + x[i] * s * (1 - s)))).toBeLessThan(2e-6 * Math.max(1, Math.abs(x[i])));
      expect(Math.abs(sn[i] - Math.sin(x[i]))).toBeLessThan(2e-6);
    }
  });
});
