import type * as tf from '@tensorflow/tfjs';
import type { TimeEmbeddingConfig } from './embedding.js';
import type { ParamSpec, Params } from './params.js';

/*
 * The networks' shared types: each architecture's JSON config and the Network interface they
 * all implement. The architectures (mlp.ts, unet.ts) and createNetwork (network.ts) import
 * these; nothing here imports an architecture.
 */

/**
 * MLP for vector data x [B, D] -> [B, D]: `hidden` SiLU layers and a linear output layer
 * (initialized to zero, so a fresh eps-model predicts 0). The time embedding enters either
 * concatenated to the input ('concat') or, projected to each hidden width by one matMul,
 * added to every hidden pre-activation ('add'). With `numClasses` = K, a learned label
 * embedding c(y) (K + 1 rows, the last the null label) is added to the time embedding first:
 * e = e(t) + c(y), then concatenated or projected as above. With one t for the whole batch (a
 * sampler's step), the concatenation is never formed: its part of the first layer is one row
 * e W0[dim:] + b0, added as that layer's bias.
 */
export interface MLPConfig {
  arch: 'mlp';
  dim: number;
  hidden: number[];
  embedding: TimeEmbeddingConfig;
  timeConditioning: 'concat' | 'add';
  /** Class-conditional with labels 0..numClasses-1 (and the null label numClasses); absent: unconditional. */
  numClasses?: number;
}

/**
 * A small U-Net for images x [B, H, W, C] (H, W even; 28x28x1 for MNIST) with two resolutions:
 *
 *   conv_in -> res(c) ---------------------------------------------------- concat -> res(c) -> out
 *                 \-> avgpool 2 -> res(2c) -> res(2c) (middle) -> concat -> res(2c) -> upsample 2 /
 *                                     \------------------------------/
 *
 * Each residual block: GroupNorm, SiLU, conv3x3, + projected time embedding, GroupNorm, SiLU,
 * conv3x3, + skip (a 1x1 conv where the channel count changes). The time embedding goes through
 * a two-layer SiLU MLP of width 4c first. The output conv starts at zero. With `numClasses` = K,
 * a learned label embedding c(y) (K + 1 rows, the last the null label) is added to the time
 * embedding before that MLP, e = e(t) + c(y), as in the class-conditional DDPM U-Nets.
 * With `patch` = p > 1 the image is first folded into p x p patches (space to depth,
 * [H, W, C] -> [H/p, W/p, p^2 C]), the U-Net runs at that resolution and the output is
 * unfolded again: p^2 times fewer positions for every convolution, as patchified diffusion
 * models do (DiT), at some cost in detail.
 */
export interface UNetConfig {
  arch: 'unet';
  /** Per-sample shape [H, W, C]. */
  shape: [number, number, number];
  /** Channels at full resolution (doubled at half resolution). */
  channels: number;
  groups: number;
  embedding: TimeEmbeddingConfig;
  /** Side of the square patches folded into channels before the first convolution (default 1). */
  patch?: number;
  /** Class-conditional with labels 0..numClasses-1 (and the null label numClasses); absent: unconditional. */
  numClasses?: number;
}

/** A network architecture as plain JSON (stored in checkpoints). */
export type NetworkConfig = MLPConfig | UNetConfig;

/**
 * A network as a pure function of its parameters: apply(params, x, t, labels?) has x's shape.
 * t is a scalar or one continuous time per sample. With `config.numClasses` = K the network is
 * class-conditional: labels (int32, a scalar or [B]) in 0..K, K being the null label
 * (unconditional); absent labels mean the null label. Unconditional networks ignore labels.
 * The object holds no tensors.
 */
export interface Network {
  readonly config: NetworkConfig;
  readonly specs: readonly ParamSpec[];
  apply(params: Params, x: tf.Tensor, t: tf.Tensor, labels?: tf.Tensor): tf.Tensor;
}
