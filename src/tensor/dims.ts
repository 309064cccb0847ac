import * as tf from '@tensorflow/tfjs';

/**
 * Reshapes a per-sample value v of shape [B] to [B, 1, ..., 1] with `rank` dimensions so it
 * broadcasts against a batch x of that rank; a scalar (rank 0) is returned as it is.
 */
export function appendDims(v: tf.Tensor, rank: number): tf.Tensor {
  if (v.rank === 0 || v.rank === rank) return v;
  if (v.rank !== 1) throw new Error(`appendDims expects a scalar or a [batch] tensor, got shape [${v.shape}]`);
  return v.reshape([v.shape[0], ...new Array<number>(rank - 1).fill(1)]);
}

/** Sums a tensor over every axis but the first: [B, ...] -> [B]. */
export function sumPerSample(x: tf.Tensor): tf.Tensor1D {
  if (x.rank <= 1) return x.reshape([-1]) as tf.Tensor1D;
  return x.reshape([x.shape[0], -1]).sum(1) as tf.Tensor1D;
}

/** Number of elements per sample of a batch [B, ...]: the product of the trailing dimensions. */
export function dimsPerSample(shape: readonly number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}
