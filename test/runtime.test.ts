import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, test } from 'vitest';
import { describeBackend } from '../src/backend.js';
import { createNetwork } from '../src/models/network.js';
import { defaultMLPConfig } from '../src/models/mlp.js';
import { initParams, disposeParams } from '../src/models/params.js';
import { defaultUNetConfig } from '../src/models/unet.js';
import { loadNativeGemm } from '../src/native.js';
import { KERNELS } from '../src/ops.js';
import { configureRuntime, runtimeOptionsFromEnv } from '../src/runtime.js';
import type { NetworkConfig } from '../src/models/network-types.js';

// configureRuntime selects the backend and installs (or removes) the native kernels; nothing else does.

const env = runtimeOptionsFromEnv();
afterAll(async () => {
  await configureRuntime(env);
});

/** Network output and the gradient of a weighted sum of it with respect to every parameter, on the host. */
function outputsAndGrads(config: NetworkConfig, shape: number[]): { y: Float32Array; grads: Float32Array[] } {
  const net = createNetwork(config);
  const params = initParams(net.specs, 3);
  // The zero-initialized output layer would make most gradients zero: give it values.
  const outW = Object.keys(params).filter((k) => k.startsWith('out.') && k.endsWith('.w'));
  for (const k of outW) {
    const v = params[k];
    params[k] = tf.tidy(() => tf.mul(tf.randomNormal(v.shape, 0, 0.1, 'float32', 9), 1));
    v.dispose();
  }
  const result = tf.tidy(() => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = tf.tensor(Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i)), shape);
    const t = tf.tensor1d(Array.from({ length: shape[0] }, (_, i) => 0.05 + (0.9 * i) / shape[0]));
    const y = net.apply(params, x, t).dataSync() as Float32Array;
    const names = Object.keys(params);
    const w = tf.tensor(Float32Array.from({ length: n }, (_, i) => Math.cos(0.11 * i)), shape);
    const g = tf.grads((...ps: tf.Tensor[]) => {
      const p = Object.fromEntries(names.map((k, i) => [k, ps[i]]));
      return tf.sum(tf.mul(net.apply(p, x, t), w));
    })(names.map((k) => params[k]));
    return { y, grads: g.map((gi) => gi.dataSync() as Float32Array) };
  });
  disposeParams(params);
  return result;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / Math.max(scale, 1e-30);
}

describe('configureRuntime', () => {
  test('describeBackend has no side effects: it installs nothing', async () => {
    await configureRuntime({ ...env, native: false });
    const info = describeBackend();
    expect(info.nativeMatMul).toBeNull();
    expect(describeBackend()).toEqual(info);
    for (const name of Object.values(KERNELS)) expect(tf.getKernel(name, tf.getBackend())).toBeUndefined();
  });

  test('native on installs the kernels exactly where the addon serves single-threaded wasm; off removes them', async () => {
    const on = await configureRuntime({ ...env, native: true });
    const available = loadNativeGemm() !== undefined && on.backend === 'wasm' && on.threads === 1;
    expect(on.nativeMatMul !== null).toBe(available);
    for (const name of Object.values(KERNELS)) expect(tf.getKernel(name, tf.getBackend()) !== undefined).toBe(available);
    const off = await configureRuntime({ ...env, native: false });
    expect(off.nativeMatMul).toBeNull();
    expect(off.description).not.toMatch(/native/);
    for (const name of Object.values(KERNELS)) expect(tf.getKernel(name, tf.getBackend())).toBeUndefined();
  });

  test('the log receives one line naming the backend', async () => {
    const lines: string[] = [];
    const info = await configureRuntime({ ...env, log: (l) => lines.push(l) });
    expect(lines).toEqual([`backend: ${info.description}`]);
  });

  test('bad thread counts are usage errors', async () => {
    await expect(configureRuntime({ threads: 0 })).rejects.toThrow(/threads/);
    expect(() => runtimeOptionsFromEnv({ SDE_WASM_THREADS: 'two' })).toThrow(/^SDE_WASM_THREADS/);
    expect(() => runtimeOptionsFromEnv({ SDE_NATIVE_THREADS: '99' })).toThrow(/^SDE_NATIVE_THREADS/);
    expect(runtimeOptionsFromEnv({ SDE_NATIVE: '0' }).native).toBe(false);
  });

  test.each([
    ['MLP (concat)', defaultMLPConfig(2), [64, 2]],
    ['MLP (add)', defaultMLPConfig(3, { timeConditioning: 'add', hidden: [32, 48] }), [40, 3]],
    ['U-Net', defaultUNetConfig([8, 8, 1], { channels: 8, groups: 2 }), [3, 8, 8, 1]],
  ] as const)('%s: native off gives the same outputs and gradients as native on (float32 tolerance)', async (_, config, shape) => {
    await configureRuntime({ ...env, native: true });
    const on = outputsAndGrads(config, [...shape]);
    await configureRuntime({ ...env, native: false });
    const off = outputsAndGrads(config, [...shape]);
    expect(maxRelDiff(on.y, off.y)).toBeLessThan(1e-5);
    expect(on.grads.length).toBe(off.grads.length);
    on.grads.forEach((g, i) => expect(maxRelDiff(g, off.grads[i])).toBeLessThan(1e-4));
  });
});
