import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { avgPool2, conv1x1, conv3x3, dense, denseAddSilu, denseSilu, groupNorm, silu, upsample2 } from '../../src/models/layers.js';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Gradients of sum(R * f(inputs)) for a fixed random R, with respect to every input. */
function gradsOf(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: number): { value: Float32Array; grads: Float32Array[] } {
  return tf.tidy(() => {
    const value = f(...inputs);
    const R = tf.randomNormal(value.shape, 0, 1, 'float32', seed);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(R, f(...xs))))(inputs);
    return { value: value.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  });
}

describe('dense layers with explicit-transpose gradients', () => {
  // Created lazily, inside the tests: the backend is selected in a beforeAll.
  const x = () => tf.randomNormal([7, 5], 0, 1, 'float32', 1);
  const w = () => tf.randomNormal([5, 4], 0, 0.5, 'float32', 2);
  const b = () => tf.randomNormal([4], 0, 0.5, 'float32', 3);
  const c = () => tf.randomNormal([7, 4], 0, 0.5, 'float32', 4);
  // References built from stock ops, differentiated by tfjs's own gradients.
  const refSilu = (z: tf.Tensor) => tf.mul(z, tf.sigmoid(z));
  const cases: [string, (...xs: tf.Tensor[]) => tf.Tensor, (...xs: tf.Tensor[]) => tf.Tensor, (() => tf.Tensor)[]][] = [
    ['dense', (x, w, b) => dense(x, w, b), (x, w, b) => tf.add(tf.matMul(x, w), b), [x, w, b]],
    ['denseSilu', (x, w, b) => denseSilu(x, w, b), (x, w, b) => refSilu(tf.add(tf.matMul(x, w), b)), [x, w, b]],
    ['denseAddSilu', (x, w, b, c) => denseAddSilu(x, w, b, c), (x, w, b, c) => refSilu(tf.add(tf.add(tf.matMul(x, w), b), c)), [x, w, b, c]],
    ['silu', (x) => silu(x), (x) => refSilu(x), [x]],
  ];
  for (const [name, f, ref, inputs] of cases) {
    it(`${name}: values and gradients match tfjs's automatic ones`, () => {
      const tensors = inputs.map((make) => make());
      const mine = gradsOf(f, tensors, 7);
      const theirs = gradsOf(ref, tensors, 7);
      tf.dispose(tensors);
      expect(maxAbsDiff(mine.value, theirs.value)).toBeLessThan(1e-5 * (1 + maxAbs(theirs.value)));
      mine.grads.forEach((g, i) => expect(maxAbsDiff(g, theirs.grads[i])).toBeLessThan(1e-5 * (1 + maxAbs(theirs.grads[i]))));
    });
  }
});

describe('conv3x3', () => {
  it('matches a float64 host convolution and its gradients (im2col filter gradient)', () => {
    const [B, H, W, Ci, Co] = [2, 5, 4, 3, 2];
    const x = tf.randomNormal([B, H, W, Ci], 0, 1, 'float32', 11);
    const w = tf.randomNormal([3, 3, Ci, Co], 0, 0.5, 'float32', 12);
    const bias = tf.randomNormal([Co], 0, 0.5, 'float32', 13);
    const R = tf.randomNormal([B, H, W, Co], 0, 1, 'float32', 14);
    const [xv, wv, bv, rv] = [x, w, bias, R].map((t) => Float64Array.from(t.dataSync()));
    const X = (b: number, h: number, ww: number, c: number) => (h < 0 || h >= H || ww < 0 || ww >= W ? 0 : xv[((b * H + h) * W + ww) * Ci + c]);
    const Wt = (ky: number, kx: number, ci: number, co: number) => wv[((ky * 3 + kx) * Ci + ci) * Co + co];
    const y = new Float64Array(B * H * W * Co);
    const dw = new Float64Array(9 * Ci * Co);
    const dx = new Float64Array(B * H * W * Ci);
    const db = new Float64Array(Co);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let ww = 0; ww < W; ww++)
          for (let co = 0; co < Co; co++) {
            const o = ((b * H + h) * W + ww) * Co + co;
            let s = bv[co];
            db[co] += rv[o];
            for (let ky = 0; ky < 3; ky++)
              for (let kx = 0; kx < 3; kx++)
                for (let ci = 0; ci < Ci; ci++) {
                  const [hh, xx] = [h + ky - 1, ww + kx - 1];
                  s += X(b, hh, xx, ci) * Wt(ky, kx, ci, co);
                  dw[((ky * 3 + kx) * Ci + ci) * Co + co] += X(b, hh, xx, ci) * rv[o];
                  if (hh >= 0 && hh < H && xx >= 0 && xx < W) dx[((b * H + hh) * W + xx) * Ci + ci] += Wt(ky, kx, ci, co) * rv[o];
                }
            y[o] = s;
          }
    const { value, grads } = gradsOf((a, bb, c) => conv3x3(a as tf.Tensor4D, bb, c), [x, w, bias], 14);
    // gradsOf draws R with the same seed and shape, so it is the R above.
    expect(maxAbsDiff(value, y)).toBeLessThan(1e-4);
    expect(maxAbsDiff(grads[0], dx)).toBeLessThan(1e-4);
    expect(maxAbsDiff(grads[1], dw)).toBeLessThan(1e-4);
    expect(maxAbsDiff(grads[2], db)).toBeLessThan(1e-4);
    tf.dispose([x, w, bias, R]);
  });
});

describe('groupNorm', () => {
  it("values and gradients match tfjs's automatic ones through tf.moments", () => {
    const ref = (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
      const [B, H, W, C] = x.shape;
      const g = x.reshape([B, H * W, 2, C / 2]);
      const { mean, variance } = tf.moments(g, [1, 3], true);
      return tf.add(tf.mul(tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, 1e-5))).reshape([B, H, W, C]), gamma), beta);
    };
    const inputs = [tf.randomNormal([3, 4, 5, 6], 1, 2, 'float32', 31), tf.randomNormal([6], 1, 0.3, 'float32', 32), tf.randomNormal([6], 0, 0.3, 'float32', 33)];
    const mine = gradsOf((x, gm, b) => groupNorm(x as tf.Tensor4D, gm, b, 2), inputs, 34);
    const theirs = gradsOf(ref, inputs, 34);
    expect(maxAbsDiff(mine.value, theirs.value)).toBeLessThan(1e-4);
    mine.grads.forEach((g, i) => expect(maxAbsDiff(g, theirs.grads[i])).toBeLessThan(1e-4 * (1 + maxAbs(theirs.grads[i]))));
    tf.dispose(inputs);
  });

  it('normalizes each (sample, group) block to zero mean and unit variance before the affine map', () => {
    const x = tf.randomNormal([2, 3, 3, 4], 2, 3, 'float32', 21);
    const out = tf.tidy(() => groupNorm(x as tf.Tensor4D, tf.ones([4]), tf.zeros([4]), 2).dataSync());
    for (let b = 0; b < 2; b++)
      for (let g = 0; g < 2; g++) {
        const v: number[] = [];
        for (let p = 0; p < 9; p++) for (let c = 0; c < 2; c++) v.push(out[(b * 9 + p) * 4 + g * 2 + c]);
        const mean = v.reduce((a, c) => a + c, 0) / v.length;
        const variance = v.reduce((a, c) => a + (c - mean) ** 2, 0) / v.length;
        expect(Math.abs(mean)).toBeLessThan(1e-5);
        expect(Math.abs(variance - 1)).toBeLessThan(1e-3);
      }
    x.dispose();
  });
});

/**
 * Runs f on tfjs's reference 'cpu' backend (which has every gradient kernel, e.g.
 * Conv2DBackpropFilter) and switches back; inputs made inside f from seeds match the others.
 */
async function onCpu<T>(f: () => T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return f();
  } finally {
    await tf.setBackend(previous);
  }
}

function expectClose(mine: { value: Float32Array; grads: Float32Array[] }, theirs: { value: Float32Array; grads: Float32Array[] }, rel = 1e-4): void {
  expect(maxAbsDiff(mine.value, theirs.value)).toBeLessThan(rel * (1 + maxAbs(theirs.value)));
  expect(mine.grads.length).toBe(theirs.grads.length);
  mine.grads.forEach((g, i) => expect(maxAbsDiff(g, theirs.grads[i])).toBeLessThan(rel * (1 + maxAbs(theirs.grads[i]))));
}

describe('convolution and normalization layers against tfjs reference ops', () => {
  const inputs4 = (shape: [number, number, number, number], co: number, mean = 0) => [
    tf.randomNormal(shape, mean, 1, 'float32', 41),
    tf.randomNormal([3, 3, shape[3], co], 0, 0.3, 'float32', 42),
    tf.randomNormal([co], 0, 0.5, 'float32', 43),
  ];

  it('conv3x3: values and gradients match tf.conv2d differentiated on the cpu backend (both filter-gradient forms)', async () => {
    for (const [shape, co] of [[[2, 6, 5, 3], 4], [[3, 8, 8, 8], 16], [[2, 6, 6, 12], 4]] as [[number, number, number, number], number][]) {
      const mine = tf.tidy(() => gradsOf((x, w, b) => conv3x3(x as tf.Tensor4D, w, b), inputs4(shape, co), 44));
      const theirs = await onCpu(() => tf.tidy(() => gradsOf((x, w, b) => tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b), inputs4(shape, co), 44)));
      expectClose(mine, theirs);
    }
  });

  it('conv1x1: values and gradients match a matMul reference', async () => {
    const make = () => [tf.randomNormal([2, 4, 6, 5], 0, 1, 'float32', 51), tf.randomNormal([5, 3], 0, 0.5, 'float32', 52), tf.randomNormal([3], 0, 0.5, 'float32', 53)];
    const mine = tf.tidy(() => gradsOf((x, w, b) => conv1x1(x as tf.Tensor4D, w, b), make(), 54));
    const theirs = await onCpu(() => tf.tidy(() => gradsOf((x, w, b) => tf.add(tf.matMul(x.reshape([-1, 5]), w), b).reshape([2, 4, 6, 3]), make(), 54)));
    expectClose(mine, theirs);
  });

  it('groupNorm: values and gradients match a tf.moments reference at U-Net shapes, also off-centre inputs', async () => {
    const ref = (groups: number) => (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
      const [B, H, W, C] = x.shape;
      const g = x.reshape([B, H * W, groups, C / groups]);
      const { mean, variance } = tf.moments(g, [1, 3], true);
      return tf.add(tf.mul(tf.mul(tf.sub(g, mean), tf.rsqrt(tf.add(variance, 1e-5))).reshape([B, H, W, C]), gamma), beta);
    };
    const cases: [[number, number, number, number], number, number][] = [
      [[2, 7, 7, 16], 4, 0],
      [[2, 6, 6, 12], 4, 3],
      [[3, 4, 4, 8], 1, -2],
      [[2, 3, 5, 8], 8, 1],
    ];
    for (const [shape, groups, mean] of cases) {
      const make = () => [tf.randomNormal(shape, mean, 2, 'float32', 61), tf.randomNormal([shape[3]], 1, 0.3, 'float32', 62), tf.randomNormal([shape[3]], 0, 0.3, 'float32', 63)];
      const mine = tf.tidy(() => gradsOf((x, gm, b) => groupNorm(x as tf.Tensor4D, gm, b, groups), make(), 64));
      const theirs = await onCpu(() => tf.tidy(() => gradsOf(ref(groups), make(), 64)));
      expectClose(mine, theirs);
    }
  });

  it('avgPool2 and upsample2: values and gradients match tf.avgPool and a broadcasting upsampling', async () => {
    const make = () => [tf.randomNormal([2, 6, 4, 3], 0, 1, 'float32', 71)];
    expectClose(
      tf.tidy(() => gradsOf((x) => avgPool2(x as tf.Tensor4D), make(), 72)),
      await onCpu(() => tf.tidy(() => gradsOf((x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'), make(), 72))),
    );
    // Reference: each value copied into a 2x2 block by a broadcast product. (Not the cpu
    // backend's ResizeNearestNeighborGrad: in tfjs 4.22 it is wrong for every sample after the
    // first, as the adjoint identity <up(x), dy> = <x, grad> shows.)
    const up = (x: tf.Tensor) => tf.mul(x.reshape([2, 6, 1, 4, 1, 3]), tf.ones([1, 1, 2, 1, 2, 1])).reshape([2, 12, 8, 3]);
    expectClose(tf.tidy(() => gradsOf((x) => upsample2(x as tf.Tensor4D), make(), 73)), await onCpu(() => tf.tidy(() => gradsOf(up, make(), 73))));
    const resized = tf.tidy(() => tf.image.resizeNearestNeighbor(make()[0] as tf.Tensor4D, [12, 8]).dataSync());
    expect(maxAbsDiff(tf.tidy(() => upsample2(make()[0] as tf.Tensor4D).dataSync()), resized)).toBe(0);
    expect(() => avgPool2(tf.zeros([1, 3, 4, 1]) as tf.Tensor4D)).toThrow(/not even/);
  });
});
