import * as tf from '@tensorflow/tfjs';
import { mixSeed, normalRng, uniformRng } from '../random.js';
import { meanInterval, type MeanInterval } from './intervals.js';

/** A point set on the host: n rows of dimension d. */
export type Points = number[][];

function checkSameDimension(a: Points, b: Points): number {
  if (a.length === 0 || b.length === 0) throw new Error('metrics need non-empty point sets');
  const d = a[0].length;
  if (b[0].length !== d) throw new Error(`metrics need point sets of one dimension, got ${d} and ${b[0].length}`);
  return d;
}

/** The q-quantile of sorted values by linear interpolation between order statistics. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Random orthonormal frames in R^d (Gram-Schmidt on Gaussian vectors), `count` directions in all
 * (rounded up to whole frames). Within a frame sum_i (theta_i . v)^2 = |v|^2, which removes most of
 * the Monte-Carlo noise of random directions from the sliced distance.
 */
function orthonormalDirections(d: number, count: number, seed: number): number[][] {
  const normal = normalRng(seed);
  const directions: number[][] = [];
  while (directions.length < count) {
    const frame: number[][] = [];
    while (frame.length < d) {
      const v = Array.from({ length: d }, normal);
      for (const u of frame) {
        const dot = v.reduce((s, vi, i) => s + vi * u[i], 0);
        for (let i = 0; i < d; i++) v[i] -= dot * u[i];
      }
      const norm = Math.hypot(...v);
      if (norm > 1e-8) frame.push(v.map((vi) => vi / norm));
    }
    directions.push(...frame);
  }
  return directions;
}

/**
 * Sliced 2-Wasserstein distance: SW2(a, b) = sqrt(E_theta W2^2(theta.a, theta.b)) over unit
 * directions theta from seeded random orthonormal frames (at least `projections` of them), with
 * the 1-D W2 of each projection computed from quantiles at max(n_a, n_b) levels (exact for equal
 * sizes). Float64 on the host.
 */
export function slicedWasserstein(a: Points, b: Points, projections = 256, seed = 0): number {
  const d = checkSameDimension(a, b);
  const directions = orthonormalDirections(d, projections, seed);
  const levels = Math.max(a.length, b.length);
  let total = 0;
  for (const theta of directions) {
    const project = (set: Points) => Float64Array.from(set, (x) => x.reduce((s, xi, i) => s + xi * theta[i], 0)).sort();
    const pa = project(a);
    const pb = project(b);
    let w2 = 0;
    for (let k = 0; k < levels; k++) {
      const q = levels === 1 ? 0.5 : k / (levels - 1);
      const diff = (a.length === levels ? pa[k] : quantile(pa, q)) - (b.length === levels ? pb[k] : quantile(pb, q));
      w2 += diff * diff;
    }
    total += w2 / levels;
  }
  return Math.sqrt(total / directions.length);
}

/**
 * Sum over all pairs (i, j) of k(|x_i - y_j|^2) on tensors, in row blocks so memory stays
 * bounded; block sums are accumulated in float64 on the host.
 */
function pairSum(x: Points, y: Points, kernel: (sq: tf.Tensor) => tf.Tensor, block = 1024): number {
  const yt = tf.tensor2d(y);
  const ySq = tf.tidy(() => tf.sum(tf.square(yt), 1));
  let total = 0;
  for (let start = 0; start < x.length; start += block) {
    const s = tf.tidy(() => {
      const xb = tf.tensor2d(x.slice(start, start + block));
      const sq = tf.relu(tf.add(tf.sub(tf.sum(tf.square(xb), 1, true), tf.mul(2, tf.matMul(xb, yt, false, true))), ySq));
      return tf.sum(kernel(sq));
    });
    total += s.dataSync()[0];
    s.dispose();
  }
  yt.dispose();
  ySq.dispose();
  return total;
}

/**
 * Energy distance (Szekely & Rizzo): 2 E|X - Y| - E|X - X'| - E|Y - Y'|, with the within-set
 * means over distinct pairs (U-statistics). Zero iff the distributions are equal.
 */
export function energyDistance(a: Points, b: Points): number {
  checkSameDimension(a, b);
  const dist = (sq: tf.Tensor) => tf.sqrt(sq);
  const cross = pairSum(a, b, dist) / (a.length * b.length);
  const within = (s: Points) => (s.length < 2 ? 0 : pairSum(s, s, dist) / (s.length * (s.length - 1)));
  return 2 * cross - within(a) - within(b);
}

/** Median of the pairwise distances of up to 1000 points of a (seeded subset): the usual RBF bandwidth. */
export function medianDistance(a: Points, seed = 0): number {
  const u = uniformRng(seed);
  const subset = a.length <= 1000 ? a : Array.from({ length: 1000 }, () => a[Math.floor(u() * a.length)]);
  const distances: number[] = [];
  for (let i = 0; i < subset.length; i++) {
    for (let j = i + 1; j < subset.length; j++) distances.push(Math.hypot(...subset[i].map((v, k) => v - subset[j][k])));
  }
  distances.sort((p, q) => p - q);
  return distances[Math.floor(distances.length / 2)] ?? 1;
}

/**
 * Squared maximum mean discrepancy with the RBF kernel k(x, y) = exp(-|x - y|^2 / (2 h^2)),
 * unbiased estimator: mean k(x, x') + mean k(y, y') - 2 mean k(x, y), distinct pairs within sets.
 * The bandwidth h defaults to the median pairwise distance of b.
 */
export function rbfMmd2(a: Points, b: Points, bandwidth = medianDistance(b)): number {
  checkSameDimension(a, b);
  const kernel = (sq: tf.Tensor) => tf.exp(tf.mul(sq, -1 / (2 * bandwidth * bandwidth)));
  // pairSum over a set with itself includes the diagonal k(x, x) = 1: remove it for the U-statistic.
  const within = (s: Points) => (pairSum(s, s, kernel) - s.length) / (s.length * (s.length - 1));
  return within(a) + within(b) - (2 * pairSum(a, b, kernel)) / (a.length * b.length);
}

/** A sample-quality metric between two point sets (sliced W2, energy distance, mmd2, ...). */
export type MetricFn = (a: Points, b: Points) => number;

/** A metric's noise floor: the mean over repeats with its t-interval, and the repeats' values. */
export interface NoiseFloor extends MeanInterval {
  values: number[];
}

/**
 * Noise floors of several metrics: each metric between two independent reference sets of one
 * size, the value a perfect sampler reaches on average. Repeat r draws the pair
 * draw(mixSeed(seed, r, 0)), draw(mixSeed(seed, r, 1)) (distinct seeds must give independent
 * sets) and scores it with every metric, so the floors are paired across metrics; each floor is
 * the mean of `repeats` values with its Student t-interval at `level` (meanInterval).
 */
export function noiseFloors<M extends string>(metrics: Record<M, MetricFn>, draw: (seed: number) => Points, repeats = 10, seed = 0, level = 0.95): Record<M, NoiseFloor> {
  if (!(Number.isInteger(repeats) && repeats >= 1)) throw new Error(`noise floor repeats must be an integer >= 1, got ${repeats}`);
  const names = Object.keys(metrics) as M[];
  const values = Object.fromEntries(names.map((name) => [name, [] as number[]])) as Record<M, number[]>;
  for (let r = 0; r < repeats; r++) {
    const first = draw(mixSeed(seed, r, 0));
    const second = draw(mixSeed(seed, r, 1));
    for (const name of names) values[name].push(metrics[name](first, second));
  }
  return Object.fromEntries(names.map((name) => [name, { ...meanInterval(values[name], level), values: values[name] }])) as Record<M, NoiseFloor>;
}

/** The noise floor of one metric: noiseFloors({ metric }) (see there). */
export function noiseFloor(metric: MetricFn, draw: (seed: number) => Points, repeats = 10, seed = 0, level = 0.95): NoiseFloor {
  return noiseFloors({ metric }, draw, repeats, seed, level).metric;
}
