import { createMLP } from './mlp.js';
import type { Network, NetworkConfig } from './network-types.js';
import { createUNet } from './unet.js';

export type { Network, NetworkConfig } from './network-types.js';

/** The network `config` describes (its architecture's factory); throws on an unknown architecture. */
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
