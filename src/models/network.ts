import type * as tf from '@tensorflow/tfjs';
import { createMLP, type MLPConfig } from './mlp.js';
import type { ParamSpec, Params } from './params.js';
import { createUNet, type UNetConfig } from './unet.js';

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

/** The number of classes of a class-conditional network config, else undefined. */
export function networkClasses(config: NetworkConfig): number | undefined {
  return config.numClasses;
}

export function createNetwork(config: NetworkConfig): Network {
  switch (config.arch) {
    case 'mlp':
      return createMLP(config);
    case 'unet':
      return createUNet(config);
    default:
      throw new Error(`unknown network architecture '${(config as { arch: unknown }).arch}'`);
  }
}
