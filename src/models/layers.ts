import * as tf from '@tensorflow/tfjs';

/*
 * Layers as plain functions of tensors, with hand-written gradients where tfjs's automatic ones
 * are slow on the wasm backend: the gradient of matMul uses matMul(transposeA/transposeB), which
 * the wasm kernel runs 7-50x slower than a plain product, so the backward passes below
 * transpose explicitly and call a plain matMul. The wasm backend also has no
 * Conv2DBackpropFilter kernel and a slow Conv2DBackpropInput; conv3x3's gradients are forward
 * convolutions instead.
 */

type Saver = (tensors: tf.Tensor[]) => void;
type CustomFn = Parameters<typeof tf.customGrad>[0];

/** tf.customGrad with typed positional tensor arguments. */
function custom<F>(f: unknown): F {
  return tf.customGrad(f as CustomFn) as unknown as F;
}

/** x^T y for 2-D x [n, a], y [n, b] -> [a, b], as transpose + plain matMul. */
function matMulTA(x: tf.Tensor, y: tf.Tensor): tf.Tensor2D {
  return tf.matMul(tf.transpose(x as tf.Tensor2D), y as tf.Tensor2D);
}

/** Column sums of a 2-D dy [n, b] -> [b], as ones[1, n] dy: a plain matMul is faster than tf.sum over axis 0 on wasm. */
function sumRows(dy: tf.Tensor): tf.Tensor1D {
  const n = dy.shape[0] as number;
  return tf.matMul(tf.ones([1, n]), dy as tf.Tensor2D).reshape([-1]) as tf.Tensor1D;
}

/** dy w^T -> [n, a] for dy [n, b], w [a, b]. */
function matMulTB(dy: tf.Tensor, w: tf.Tensor): tf.Tensor2D {
  return tf.matMul(dy as tf.Tensor2D, tf.transpose(w as tf.Tensor2D));
}

const denseOp = custom<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D>((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: Saver) => {
  save([x, w]);
  return {
    value: tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [matMulTB(dy, saved[1]), matMulTA(saved[0], dy), sumRows(dy)],
  };
});

/** y = x w + b for x [n, a], w [a, b], b [b]. */
export function dense(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return denseOp(x, w, b);
}

/** dz for y = silu(z) = z sigmoid(z), given s = sigmoid(z) and y: dy (s + y (1 - s)). */
function siluBackward(dy: tf.Tensor, s: tf.Tensor, y: tf.Tensor): tf.Tensor {
  return tf.mul(dy, tf.add(s, tf.sub(y, tf.mul(y, s))));
}

const denseSiluOp = custom<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor2D>((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: Saver) => {
  const z = tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b });
  const s = tf.sigmoid(z);
  const y = tf.mul(z, s);
  save([x, w, s, y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [sx, sw, ss, sy]: tf.Tensor[]) => {
      const dz = siluBackward(dy, ss, sy);
      return [matMulTB(dz, sw), matMulTA(sx, dz), sumRows(dz)];
    },
  };
});

/** silu(x w + b), fused with its gradient. */
export function denseSilu(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return denseSiluOp(x, w, b);
}

const denseAddSiluOp = custom<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor2D>((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, c: tf.Tensor, save: Saver) => {
  const z = tf.add(tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b }), c);
  const s = tf.sigmoid(z);
  const y = tf.mul(z, s);
  save([x, w, s, y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, [sx, sw, ss, sy]: tf.Tensor[]) => {
      const dz = siluBackward(dy, ss, sy);
      return [matMulTB(dz, sw), matMulTA(sx, dz), sumRows(dz), dz];
    },
  };
});

/** silu(x w + b + c) with c [n, b] (e.g. a projected time embedding). */
export function denseAddSilu(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, c: tf.Tensor): tf.Tensor2D {
  return denseAddSiluOp(x, w, b, c);
}

const siluOp = custom<(x: tf.Tensor) => tf.Tensor>((x: tf.Tensor, save: Saver) => {
  const s = tf.sigmoid(x);
  const y = tf.mul(x, s);
  save([s, y]);
  return { value: y, gradFunc: (dy: tf.Tensor, [ss, sy]: tf.Tensor[]) => [siluBackward(dy, ss, sy)] };
});

/** SiLU (swish): x sigmoid(x). */
export function silu(x: tf.Tensor): tf.Tensor {
  return siluOp(x);
}

/**
 * Filter gradient of a 3x3 'same' convolution, dW[ky, kx, ci, co] = sum_{b,h,w} xpad[b, h+ky, w+kx, ci] dy[b, h, w, co],
 * as one forward convolution with the roles of batch and channels swapped: the padded input
 * transposed to [Ci, H+2, W+2, B] convolved ('valid') with dy transposed to a [H, W, B, Co] filter
 * gives [Ci, 3, 3, Co]. On wasm this is several times faster than an im2col product.
 */
function conv3x3FilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor4D {
  const xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const xT = tf.transpose(xp, [3, 1, 2, 0]) as tf.Tensor4D;
  const f = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  return tf.transpose(tf.conv2d(xT, f, 1, 'valid'), [1, 2, 0, 3]);
}

const conv3x3Op = custom<(x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor4D>((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor, save: Saver) => {
  save([x, w]);
  return {
    value: tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b }),
    gradFunc: (dy: tf.Tensor, [sx, sw]: tf.Tensor[]) => {
      const dy4 = dy as tf.Tensor4D;
      const [B, H, W, Cout] = dy4.shape;
      // dx is the 'same' correlation of dy with the filter flipped in space and transposed in
      // (in, out): a forward conv, much faster on wasm than its Conv2DBackpropInput kernel.
      const flipped = tf.transpose(tf.reverse(sw, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const dx = tf.conv2d(dy4, flipped, 1, 'same');
      const dw = conv3x3FilterGrad(sx as tf.Tensor4D, dy4);
      return [dx, dw, sumRows(dy4.reshape([B * H * W, Cout]))];
    },
  };
});

/** 3x3 convolution, stride 1, 'same' padding: x [B, H, W, Cin], w [3, 3, Cin, Cout], b [Cout]. */
export function conv3x3(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  return conv3x3Op(x, w, b);
}

/** 1x1 convolution as a dense layer over the channels. */
export function conv1x1(x: tf.Tensor4D, w: tf.Tensor, b: tf.Tensor): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  return dense(x.reshape([B * H * W, C]), w, b).reshape([B, H, W, w.shape[1] as number]);
}

/**
 * Per-(sample, group) means of t [B, HW, C] viewed as [B, HW, G, C/G]: [B, 1, G, 1]. Summing the
 * innermost axis first leaves a C/G times smaller tensor for the strided reduction (tf.mean
 * over axes [1, 3] transposes the whole tensor first on wasm).
 */
function groupMean(t: tf.Tensor3D, groups: number): tf.Tensor4D {
  const [B, HW, C] = t.shape;
  const sums = tf.sum(tf.sum(t.reshape([B, HW, groups, C / groups]), 3, true), 1, true);
  return tf.div(sums, HW * (C / groups)) as tf.Tensor4D;
}

function groupNormOp(groups: number, epsilon: number) {
  return custom<(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor4D>((x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: Saver) => {
    const [B, H, W, C] = x.shape as [number, number, number, number];
    const HW = H * W;
    const Cg = C / groups;
    const x3 = x.reshape([B, HW, C]) as tf.Tensor3D;
    const centred = tf.sub(x3.reshape([B, HW, groups, Cg]), groupMean(x3, groups));
    const variance = groupMean(tf.square(centred).reshape([B, HW, C]) as tf.Tensor3D, groups);
    const inv = tf.rsqrt(tf.add(variance, epsilon));
    const xhat = tf.mul(centred, inv).reshape([B, H, W, C]);
    save([xhat, inv, gamma]);
    return {
      value: tf.add(tf.mul(xhat, gamma), beta) as tf.Tensor4D,
      gradFunc: (dy: tf.Tensor, [sxhat, sinv, sgamma]: tf.Tensor[]) => {
        const rows = (t: tf.Tensor) => t.reshape([B * HW, C]);
        const dgamma = sumRows(rows(tf.mul(dy, sxhat)));
        const dbeta = sumRows(rows(dy));
        // dx = inv (g - mean(g) - xhat mean(g xhat)), g = dy gamma, means over each group.
        const g = tf.mul(dy, sgamma).reshape([B, HW, C]) as tf.Tensor3D;
        const xh = sxhat.reshape([B, HW, C]) as tf.Tensor3D;
        const m1 = groupMean(g, groups);
        const m2 = groupMean(tf.mul(g, xh) as tf.Tensor3D, groups);
        const xh4 = xh.reshape([B, HW, groups, Cg]);
        const dx = tf.mul(sinv, tf.sub(tf.sub(g.reshape([B, HW, groups, Cg]), m1), tf.mul(xh4, m2)));
        return [dx.reshape([B, H, W, C]), dgamma, dbeta];
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
