import { UsageError } from '../src/errors.js';
import { isCheckpoint, readCheckpointConfig } from '../src/models/checkpoint.js';
import { loadMixture, mixtureDim, type GaussianMixture } from '../src/oracle/index.js';
import { makeSDE } from '../src/sde/registry.js';
import { sdeConfigFromArgs } from './common.js';

/** What the sampling commands know of their source before any tensor exists. */
export interface SourceInfo {
  /** Shape of one sample, e.g. [2] or [28, 28, 1]. */
  sampleShape: number[];
  /** End time of the SDE. */
  T: number;
  /** The SDE's name (vp, subvp, ve). */
  sdeName: string;
  /** 'checkpoint DIR' or 'oracle FILE', for messages. */
  describe: string;
  /** A checkpoint's training data (a built-in set's name or a file); undefined for the oracle. */
  dataSource?: string;
  /** The oracle's mixture. */
  mixture?: GaussianMixture;
  /** A class-conditional checkpoint's number of classes. */
  numClasses?: number;
}

/**
 * Reads the sample shape and the SDE's T of --checkpoint (its config.json) or --oracle (the
 * mixture file and the SDE flags) without creating tensors, so that the sizes and times the
 * flags ask for are checked before the backend is chosen. Problems are UsageErrors.
 */
export function sourceInfo(argv: Record<string, unknown>): SourceInfo {
  if (argv.oracle !== undefined) {
    const file = String(argv.oracle);
    const mix = loadMixture(file);
    const sde = makeSDE(sdeConfigFromArgs(argv));
    return { sampleShape: [mixtureDim(mix)], T: sde.T, sdeName: sde.name, describe: `oracle '${file}'`, mixture: mix };
  }
  const dir = String(argv.checkpoint);
  if (!isCheckpoint(dir)) throw new UsageError(`--checkpoint: '${dir}' holds no checkpoint (config.json and weights written by sde train)`);
  const config = readCheckpointConfig(dir);
  const sde = makeSDE(config.sde);
  return { sampleShape: [...config.data.shape], T: sde.T, sdeName: sde.name, describe: `checkpoint '${dir}'`,
    dataSource: config.data.source,
    ...(typeof config.model.network.numClasses === 'number' ? { numClasses: config.model.network.numClasses } : {}),
  };
}
