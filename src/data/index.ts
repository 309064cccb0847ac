import type { Dataset } from './dataset.js';
import { loadCsv, type CsvOptions } from './csv.js';
import { loadMnist, type MnistSplit } from './mnist.js';
import { isToyName, toyDataset } from './toy.js';

export * from './dataset.js';
export * from './toy.js';
export * from './csv.js';
export * from './mnist.js';

export interface LoadDataOptions extends CsvOptions {
  /** Points drawn from a built-in 2-D set (default 100,000); for MNIST, at most this many digits. */
  n?: number;
  /** Seed of a built-in set's generator. */
  seed?: number;
  split?: MnistSplit;
}

/** Default size of a built-in 2-D training set. */
export const DEFAULT_TOY_SIZE = 100_000;

/**
 * The data set `--data` names: a built-in 2-D set (standardized), 'mnist' (in [-1, 1]) or a CSV
 * file (raw; see standardize()).
 */
export function loadDataset(spec: string, options: LoadDataOptions = {}): Dataset {
  if (isToyName(spec)) return toyDataset(spec, options.n ?? DEFAULT_TOY_SIZE, options.seed ?? 0);
  if (spec === 'mnist') return loadMnist({ split: options.split, n: options.n });
  return loadCsv(spec, options);
}
