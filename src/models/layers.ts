import * as tf from '@tensorflow/tfjs';
import { denseSiluForward, matMulT, siluGrad, siluParts } from '../ops.js';

/*
 * Layers as plain functions of tensors, with hand-written gradients where tfjs's automatic ones
 * are slow on the wasm backend: the gradient of matMul uses matMul(transposeA/transposeB), which
 * the stock wasm kernel runs 7-50x slower than a plain product, so the backward passes below
 * call matMulT (src/ops.ts), which transposes explicitly unless the backend's product takes the
 * flags at no cost. The wasm backend also has no
 * Conv2DBackpropFilter kernel and a slow Conv2DBackpropInput; conv3x3's gradients are forward
 * convolutions instead.
 */

type Saver = (tensors: tf.Tensor[]) => void;
type CustomFn = Parameters<typeof tf.customGrad>[0];

/** tf.customGrad with typed positional tensor arguments. */
function custom<F>(f: unknown): F {
  return tf.customGrad(f as CustomFn) as unknown as F;
}

/** Column sums of a 2-D dy [n, b] -> [b], as ones[1, n] dy: a plain matMul is faster than tf.sum over axis 0 on wasm. */
function sumRows(dy: tf.Tensor): tf.Tensor1D {
  const n = dy.shape[0] as number;
  return tf.matMul(tf.ones([1, n]), dy as tf.Tensor2D).reshape([-1]) as tf.Tensor1D;
}

const denseOp = custom<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D>((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: Saver) => {
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [matMulT(dy, saved[1], false, true), matMulT(saved[0], dy, true, false), sumRows(dy)],
  };
});

/** y = x w + b for x [n, a], w [a, b], b [b]. */
export function dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return denseOp(x, w, b);
}

/**
 * y = silu(z) of a product z = x w + b (+ c), with the gradient the tape needs:
 * dz = silu'(z) dy, dx = dz w^T, dw = x^T dz, db = sum_rows dz (and dc = dz when c is given).
 */
function siluOfProduct(x: tf.Tensor, w: tf.Tensor, z: tf.Tensor, save: Saver, withAddend: boolean) {
  const [y, s] = siluParts(z);
  save([x, w, s, y]);
  return {
    value: y as tf.Tensor2D,
    gradFunc: (dy: tf.Tensor, [sx, sw, ss, sy]: tf.Tensor[]) => {
      const dz = siluGrad(dy, ss, sy);
      const grads = [matMulT(dz, sw, false, true), matMulT(sx, dz, true, false), sumRows(dz)];
      return withAddend ? [...grads, dz] : grads;
    },
  };
}

const denseSiluOp = custom<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D>((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: Saver) =>
  siluOfProduct(x, w, tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }), save, false),
);

/**
 * silu(x w + b), with its gradient under a gradient tape; without one, the forward op alone
 * (one product with the activation in its epilogue where the backend has that kernel).
 */
export function denseSilu(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  if (tf.engine().state.gradientDepth === 0) return denseSiluForward(x, w, b);
  return denseSiluOp(x, w, b);
}

const denseAddSiluOp = custom<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor2D>((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, c: tf.Tensor, save: Saver) =>
  siluOfProduct(x, w, tf.add(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }), c), save, true),
);

/** silu(x w + b + c) with c [n, b] (e.g. a projected time embedding). */
export function denseAddSilu(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Tensor2D {
  return denseAddSiluOp(x, w, b, c);
}

const siluOp = custom<(x: tf.Tensor) => tf.Tensor>((x: tf.Tensor, save: Saver) => {
  const [y, s] = siluParts(x);
  save([s, y]);
  return { value: y, gradFunc: (dy: tf.Tensor, [ss, sy]: tf.Tensor[]) => [siluGrad(dy, ss, sy)] };
});

/** SiLU (swish): x sigmoid(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return siluOp(x);
}

/**
 * Per-(sample, channel) means of t [B, H, W, C] over the positions: [B, C]. A global average
 * pool is ~10x faster on wasm than tf.sum or tf.mean over the spatial axes (which transpose
 * the whole tensor first) or a batched ones[B, 1, HW] t product (not an XNNPACK kernel).
 */
function spatialMeans(t: tf.Tensor): tf.Tensor2D {
  const [B, H, W, C] = t.shape as [number, number, number, number];
  return tf.avgPool(t as tf.Tensor4D, [H, W], 1, 'valid').reshape([B, C]) as tf.Tensor2D;
}

/** Bias gradient of a convolution: the sums of dy [B, H, W, C] over all but the channels, [C]. */
function biasGrad(dy: tf.Tensor4D): tf.Tensor1D {
  const [, H, W] = dy.shape;
  return tf.mul(tf.sum(spatialMeans(dy), 0), H * W) as tf.Tensor1D;
}

/**
 * Filter gradient of a 3x3 'same' convolution, dW[ky, kx, ci, co] = sum_{b,h,w} xpad[b, h+ky, w+kx, ci] dy[b, h, w, co],
 * as one forward convolution with the roles of batch and channels swapped, whichever of x and
 * dy has fewer channels serving as its (repacked) filter:
 * - Ci > Co: the padded input transposed to [Ci, H+2, W+2, B] convolved ('valid') with dy
 *   transposed to a [H, W, B, Co] filter gives [Ci, 3, 3, Co];
 * - otherwise: dy transposed to [Co, H, W, B], padded by 1, convolved with x as a [H, W, B, Ci]
 *   filter gives [Co, 3, 3, Ci] with the taps reversed (out[co, 2-ky, 2-kx, ci]).
 * On wasm these are several times faster than an im2col product (wasm Slice reads its input
 * back through JS, and XNNPACK repacks every fresh right-hand matrix).
 */
function conv3x3FilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  if (x.shape[3] > dy.shape[3]) {
    const xT = tf.transpose(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), [3, 1, 2, 0]) as tf.Tensor4D;
    const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    return tf.transpose(tf.conv2d(xT, f, 1, 'valid'), [1, 2, 0, 3]);
  }
  const dyT = tf.transpose(dy, [3, 1, 2, 0]) as tf.Tensor4D;
  const f = tf.transpose(x, [1, 2, 0, 3]) as tf.Tensor4D;
  const out = tf.conv2d(dyT, f, 1, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  return tf.transpose(tf.reverse(out, [1, 2]), [1, 2, 3, 0]);
}

const conv3x3Op = custom<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor4D>((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: Saver) => {
  save([x, w]);
  return {
    value: tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b }),
    gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => {
      const dy4 = dy as tf.Tensor4D;
      // dx is the 'same' correlation of dy with the filter flipped in space and transposed in
      // (in, out): a forward conv, much faster on wasm than its Conv2DBackpropInput kernel.
      const flipped = tf.transpose(tf.reverse(sw, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const dx = tf.conv2d(dy4, flipped, 1, 'same');
      const dw = conv3x3FilterGrad(sx as tf.Tensor4D, dy4);
      return [dx, dw, biasGrad(dy4)];
    },
  };
});

/** 3x3 convolution, stride 1, 'same' padding: x [B, H, W, Cin], w [3, 3, Cin, Cout], b [Cout]. */
export function conv3x3(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  return conv3x3Op(x, w, b);
}

const conv1x1Op = custom<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor4D>((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: Saver) => {
  const [B, H, W, C] = x.shape as [number, number, number, number];
  const Co = w.shape[1] as number;
  const x2 = x.reshape([B * H * W, C]);
  save([x2, w]);
  return {
    value: tf.fused.matMul({ a: x2 as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }).reshape([B, H, W, Co]) as tf.Tensor4D,
    gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => {
      const dy2 = dy.reshape([B * H * W, Co]);
      return [matMulT(dy2, sw, false, true).reshape([B, H, W, C]), matMulT(sx, dy2, true, false), biasGrad(dy as tf.Tensor4D)];
    },
  };
});

/**
 * 1x1 convolution: a dense layer over the channels, x [B, H, W, Cin], w [Cin, Cout], b [Cout]
 * (its bias gradient a global average pool rather than a ones[1, BHW] product).
 */
export function conv1x1(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  return conv1x1Op(x, w, b);
}

const avgPool2Op = custom<(x: tf.Tensor) => tf.Tensor4D>((x: tf.Tensor) => {
  const [, H, W] = x.shape as [number, number, number, number];
  return {
    value: tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'),
    // Each input takes a quarter of its window's gradient: a nearest-neighbour upsampling of
    // dy / 4 (the wasm AvgPoolGrad kernel is ~4x slower).
    gradFunc: (dy: tf.Tensor) => [tf.image.resizeNearestNeighbor(tf.mul(dy, 0.25) as tf.Tensor4D, [H, W])],
  };
});

/** 2x2 average pooling, stride 2, of x [B, H, W, C] with H and W even: [B, H/2, W/2, C]. */
export function avgPool2(x: tf.Tensor4D): tf.Tensor4D {
  const [, H, W] = x.shape;
  if (H % 2 !== 0 || W % 2 !== 0) throw new Error(`avgPool2: spatial size ${H}x${W} is not even`);
  return avgPool2Op(x);
}

const upsample2Op = custom<(x: tf.Tensor) => tf.Tensor4D>((x: tf.Tensor) => {
  const [, h, w] = x.shape as [number, number, number, number];
  return {
    value: tf.image.resizeNearestNeighbor(x as tf.Tensor4D, [2 * h, 2 * w]),
    // The gradient sums each 2x2 block of dy: 4 x its average pool (the wasm
    // ResizeNearestNeighborGrad kernel is ~10x slower).
    gradFunc: (dy: tf.Tensor) => [tf.mul(tf.avgPool(dy as tf.Tensor4D, 2, 2, 'valid'), 4)],
  };
});

/** 2x nearest-neighbour upsampling of x [B, h, w, C]: [B, 2h, 2w, C]. */
export function upsample2(x: tf.Tensor4D): tf.Tensor4D {
  return upsample2Op(x);
}

const groupAverages = new Map<string, Float32Array>();

/**
 * The [C, C] matrix that maps per-channel values s [B, C] to their means over each channel's
 * group, s A: A[c, c'] = 1 / (C / groups) where c and c' share a group, else 0. The values are
 * cached on the host; the tensor is made per call (at most 64 x 64) so that no tensor outlives
 * the caller's scope.
 */
function groupAverage(C: number, groups: number): tf.Tensor2D {
  const key = `${C}:${groups}`;
  let values = groupAverages.get(key);
  if (!values) {
    const Cg = C / groups;
    values = new Float32Array(C * C);
    for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) if (Math.floor(i / Cg) === Math.floor(j / Cg)) values[i * C + j] = 1 / Cg;
    groupAverages.set(key, values);
  }
  return tf.tensor2d(values, [C, C]);
}

/*
 * GroupNorm in per-(sample, channel) form: every full-size operation broadcasts a [B, 1, 1, C]
 * or [C] tensor over x (a [B, HW, G, C/G] x [B, 1, G, 1] broadcast runs ~5x slower on wasm),
 * the spatial means are global average pools, and the group statistics are small [B, C]
 * products with groupAverage. Forward: mu = mean, centred = x - mu, var = mean(centred^2)
 * (two-pass), inv = rsqrt(var + eps), y = centred (inv gamma) + beta. Backward, with
 * a = mean_hw dy and b = inv mean_hw(dy centred) per (sample, channel) (so b = mean_hw dy xhat),
 * m1 = group mean of gamma a and m2 = group mean of gamma b:
 * dx = inv (gamma dy - m1 - xhat m2) = dy (inv gamma) + centred (-inv^2 m2) + (-inv m1),
 * dgamma = HW sum_b b, dbeta = HW sum_b a.
 */
function groupNormOp(groups: number, epsilon: number) {
  return custom<(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor4D>((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: Saver) => {
    const [B, H, W, C] = x.shape as [number, number, number, number];
    const avg = groupAverage(C, groups);
    const perChannel = (t: tf.Tensor) => t.reshape([B, 1, 1, C]);
    const mean = tf.matMul(spatialMeans(x), avg);
    const centred = tf.sub(x, perChannel(mean));
    const variance = tf.matMul(spatialMeans(tf.square(centred)), avg);
    const inv = tf.rsqrt(tf.add(variance, epsilon)) as tf.Tensor2D;
    const y = tf.add(tf.mul(centred, perChannel(tf.mul(inv, gamma))), beta);
    save([centred, inv, gamma]);
    return {
      value: y as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, [sc, sinv, sgamma]: tf.Tensor[]) => {
        const avg = groupAverage(C, groups);
        const a = spatialMeans(dy);
        const b = tf.mul(sinv, spatialMeans(tf.mul(dy, sc)));
        const m1 = tf.matMul(tf.mul(a, sgamma) as tf.Tensor2D, avg);
        const m2 = tf.matMul(tf.mul(b, sgamma) as tf.Tensor2D, avg);
        const p = perChannel(tf.mul(sinv, sgamma));
        const q = perChannel(tf.neg(tf.mul(tf.square(sinv), m2)));
        const r = perChannel(tf.neg(tf.mul(sinv, m1)));
        const dx = tf.add(tf.add(tf.mul(dy, p), tf.mul(sc, q)), r);
        const HW = H * W;
        return [dx, tf.mul(tf.sum(b, 0), HW), tf.mul(tf.sum(a, 0), HW)];
      },
    };
  });
}

const groupNormOps = new Map<string, ReturnType<typeof groupNormOp>>();

/**
 * Group normalization (Wu & He 2018) of x [B, H, W, C] over each sample's (H, W, C/groups)
 * blocks, then a per-channel scale and shift; with a hand-written gradient.
 */
export function groupNorm(x: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor, groups: number, epsilon = 1e-5): tf.Tensor4D {
  const C = x.shape[3];
  if (C % groups !== 0) throw new Error(`groupNorm: ${C} channels do not split into ${groups} groups`);
  const key = `${groups}:${epsilon}`;
  let op = groupNormOps.get(key);
  if (!op) groupNormOps.set(key, (op = groupNormOp(groups, epsilon)));
  return op(x, gamma, beta);
}
