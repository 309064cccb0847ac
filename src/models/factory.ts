import type { SDE } from '../sde/types.js';
import { defaultMLPConfig } from './mlp.js';
import { createNetwork, type NetworkConfig } from './network.js';
import { initParams } from './params.js';
import { ScoreModel, type ModelConfig, type Parameterization } from './score-model.js';
import { defaultUNetConfig } from './unet.js';

/** The default network for a per-sample shape: the MLP for vectors [D], the U-Net for images [H, W, C]. */
export function defaultNetworkConfig(shape: readonly number[]): NetworkConfig {
  if (shape.length === 1) return defaultMLPConfig(shape[0]);
  if (shape.length === 3) return defaultUNetConfig([shape[0], shape[1], shape[2]]);
  throw new Error(`no default network for samples of shape [${shape}] (expected [D] or [H, W, C])`);
}

/** The default score model for samples of `shape`: an MLP for [D], a U-Net for [H, W, C]; the given parameterization, inputs scaled by the marginal std. */
export function defaultModelConfig(shape: readonly number[], parameterization: Parameterization = 'eps'): ModelConfig {
  return { network: defaultNetworkConfig(shape), parameterization, inputScaling: 'marginal' };
}

/** A freshly initialized score model (seeded); dispose its params when done. */
export function createModel(sde: SDE, config: ModelConfig, seed = 0): ScoreModel {
  const network = createNetwork(config.network);
  return new ScoreModel(sde, config, initParams(network.specs, seed), network);
}
