import * as tf from '@tensorflow/tfjs';
import { mixSeed, Rng } from '../random.js';
import type { Points } from './metrics.js';

/** Points of each set that mmd2 uses by default (a seeded subset of larger sets): under a second in 2-D. */
export const MMD_MAX_POINTS = 4000;

/** Pooled points whose pairwise distances give the median bandwidth (499,500 distances). */
export const BANDWIDTH_MAX_POINTS = 1000;

/** A seeded subset of `count` rows without replacement (partial Fisher-Yates), or all rows when there are no more. */
function seededSubset(rows: Points, count: number, seed: number): Points {
  if (rows.length <= count) return rows;
  const rng = new Rng(seed);
  const index = Int32Array.from({ length: rows.length }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(rows.length - i);
    const tmp = index[i];
    index[i] = index[j];
    index[j] = tmp;
  }
  return Array.from(index.subarray(0, count), (i) => rows[i]);
}

/** Rows as one row-major Float64Array, minus `centre` (distances do not change; float32 ones lose less). */
function flatten(rows: Points, d: number, centre: Float64Array): Float64Array {
  const out = new Float64Array(rows.length * d);
  rows.forEach((row, i) => {
    if (row.length !== d) throw new Error(`mmd: point ${i} has ${row.length} coordinates, expected ${d}`);
    for (let k = 0; k < d; k++) out[i * d + k] = row[k] - centre[k];
  });
  return out;
}

/** Mean of the rows of both sets. */
function pooledMean(a: Points, b: Points, d: number): Float64Array {
  const mean = new Float64Array(d);
  for (const row of [...a, ...b]) for (let k = 0; k < d; k++) mean[k] += row[k];
  return mean.map((v) => v / (a.length + b.length));
}

function squaredDistance(x: Float64Array, i: number, y: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) {
    const diff = x[i * d + k] - y[j * d + k];
    s += diff * diff;
  }
  return s;
}

/**
 * Visits the squared distances |x_i - y_j|^2 row by row: visit(i, sq, offset, from) with
 * sq[offset + j] for j >= from (from = i + 1 when `upper`, the pairs i < j of a set with itself).
 */
type DistanceRows = (x: Float64Array, m: number, y: Float64Array, n: number, d: number, upper: boolean, visit: (i: number, sq: ArrayLike<number>, offset: number, from: number) => void) => void;

/** Squared distances in float64 on the host. */
const hostDistanceRows: DistanceRows = (x, m, y, n, d, upper, visit) => {
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    const from = upper ? i + 1 : 0;
    for (let j = from; j < n; j++) row[j] = squaredDistance(x, i, y, j, d);
    visit(i, row, 0, from);
  }
};

/** Rows of x per tf.matMul block of tensorDistanceRows. */
const TENSOR_BLOCK_ROWS = 512;

/** Squared distances |x|^2 + |y|^2 - 2 x.y (clamped at 0) by float32 tf.matMul, in blocks of rows. */
const tensorDistanceRows: DistanceRows = (x, m, y, n, d, upper, visit) => {
  const yt = tf.tensor2d(Float32Array.from(y), [n, d]);
  const ySq = tf.tidy(() => tf.sum(tf.square(yt), 1));
  try {
    for (let start = 0; start < m; start += TENSOR_BLOCK_ROWS) {
      const rows = Math.min(TENSOR_BLOCK_ROWS, m - start);
      const block = tf.tidy(() => {
        const xb = tf.tensor2d(Float32Array.from(x.subarray(start * d, (start + rows) * d)), [rows, d]);
        return tf.relu(tf.add(tf.sub(tf.sum(tf.square(xb), 1, true), tf.mul(2, tf.matMul(xb, yt, false, true))), ySq));
      });
      const sq = block.dataSync();
      block.dispose();
      for (let r = 0; r < rows; r++) visit(start + r, sq, r * n, upper ? start + r + 1 : 0);
    }
  } finally {
    yt.dispose();
    ySq.dispose();
  }
};

/** sum_{i < j} k(x_i, x_j) (upper) or sum_{i, j} k(x_i, y_j), k = exp(-gamma |x - y|^2), summed in float64. */
function kernelSum(distances: DistanceRows, x: Float64Array, m: number, y: Float64Array, n: number, d: number, gamma: number, upper: boolean): number {
  let total = 0;
  distances(x, m, y, n, d, upper, (_i, sq, offset, from) => {
    let row = 0;
    for (let j = from; j < n; j++) row += Math.exp(-gamma * sq[offset + j]);
    total += row;
  });
  return total;
}

/**
 * Median-heuristic bandwidth: the median of the pairwise Euclidean distances |z_i - z_j|, i < j,
 * of the pooled sample z = a u b, computed on a seeded subset of at most `maxPoints` pooled
 * points drawn without replacement (1000: 499,500 distances). Falls back to the mean distance
 * when the median is 0 (many repeated points), and to 1 when all points coincide.
 */
export function medianBandwidth(a: Points, b: Points, seed = 0, maxPoints = BANDWIDTH_MAX_POINTS): number {
  const pooled = seededSubset([...a, ...b], maxPoints, mixSeed(seed, 2));
  if (pooled.length < 2) throw new Error('medianBandwidth needs at least two points');
  const d = pooled[0].length;
  const z = flatten(pooled, d, new Float64Array(d));
  const m = pooled.length;
  const distances = new Float64Array((m * (m - 1)) / 2);
  let p = 0;
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) distances[p++] = Math.sqrt(squaredDistance(z, i, z, j, d));
  distances.sort();
  const half = distances.length >> 1;
  const median = distances.length % 2 === 1 ? distances[half] : (distances[half - 1] + distances[half]) / 2;
  if (median > 0) return median;
  const mean = distances.reduce((s, v) => s + v, 0) / distances.length;
  return mean > 0 ? mean : 1;
}

/** Data dimensions up to which mmd2 computes distances on the host by default; above, by tf.matMul. */
export const MMD_HOST_MAX_DIM = 16;

export interface MmdOptions {
  /** Kernel bandwidth h; by default the median heuristic on the pooled sample (medianBandwidth). */
  bandwidth?: number;
  /** Sets larger than this are replaced by a seeded subset of this many points (default MMD_MAX_POINTS). */
  maxPoints?: number;
  /** Seed of the subsets (of the sets and of the bandwidth's pooled points). */
  seed?: number;
  /**
   * Where the squared distances are computed: 'host' (float64) or 'tensor' (float32 tf.matMul
   * on centred data, much faster in high dimension); by default host up to MMD_HOST_MAX_DIM
   * dimensions. The kernel values are summed in float64 on the host either way.
   */
  distances?: 'host' | 'tensor';
}

/**
 * Unbiased squared maximum mean discrepancy with the Gaussian kernel
 * k(x, y) = exp(-|x - y|^2 / (2 h^2)) (Gretton et al. 2012, MMD_u^2):
 *   1/(m(m-1)) sum_{i != j} k(x_i, x_j) + 1/(n(n-1)) sum_{i != j} k(y_i, y_j) - 2/(mn) sum_{i,j} k(x_i, y_j).
 * Its expectation is the population MMD^2 for a fixed h, so it can be negative when a and b come
 * from one distribution. O((m + n)^2 D) work: each set is cut to a seeded subset of `maxPoints`
 * (4000) points, drawn without replacement, which keeps the estimate unbiased. h defaults to the
 * pooled median distance (medianBandwidth, after the cut).
 */
export function mmd2(a: Points, b: Points, options: MmdOptions = {}): number {
  const seed = options.seed ?? 0;
  const x = seededSubset(a, options.maxPoints ?? MMD_MAX_POINTS, mixSeed(seed, 0));
  const y = seededSubset(b, options.maxPoints ?? MMD_MAX_POINTS, mixSeed(seed, 1));
  const [m, n] = [x.length, y.length];
  if (m < 2 || n < 2) throw new Error(`mmd2 needs at least two points in each set, got ${m} and ${n}`);
  const d = x[0].length;
  if (y[0].length !== d) throw new Error(`mmd2 needs point sets of one dimension, got ${d} and ${y[0].length}`);
  const h = options.bandwidth ?? medianBandwidth(x, y, seed);
  if (!(h > 0 && Number.isFinite(h))) throw new Error(`mmd2: bandwidth must be a finite number > 0, got ${h}`);
  const gamma = 1 / (2 * h * h);
  const distances = (options.distances ?? (d <= MMD_HOST_MAX_DIM ? 'host' : 'tensor')) === 'host' ? hostDistanceRows : tensorDistanceRows;
  const centre = pooledMean(x, y, d);
  const xf = flatten(x, d, centre);
  const yf = flatten(y, d, centre);
  const kxx = (2 * kernelSum(distances, xf, m, xf, m, d, gamma, true)) / (m * (m - 1));
  const kyy = (2 * kernelSum(distances, yf, n, yf, n, d, gamma, true)) / (n * (n - 1));
  const kxy = kernelSum(distances, xf, m, yf, n, d, gamma, false) / (m * n);
  return kxx + kyy - 2 * kxy;
}
