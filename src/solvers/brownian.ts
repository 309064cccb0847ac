import * as tf from '@tensorflow/tfjs';
import { mixSeed, Rng } from '../random.js';
import { BROWNIAN_STREAM } from './common.js';
import type { NoiseSampler } from './types.js';

/** The noise sources of the common `noise` option: per-step draws, or increments of one Brownian path. */
export const NOISE_KINDS = ['independent', 'brownian'] as const;
export type NoiseKind = (typeof NOISE_KINDS)[number];

/** Bisection depth of the tree: leaves of width T / 2^20 (about 1e-6 T, torchsde's default tolerance). */
export const DEFAULT_BROWNIAN_DEPTH = 20;

/** How many W(t) results a path remembers by exact time (a step's `from` is the previous step's `to`). */
const RECENT_TIMES = 4;

/**
 * A seeded Brownian path W on [0, T] of `size` independent coordinates (float64 on the host),
 * a deterministic function of (seed, t): the same values whatever the order or number of
 * queries, so runs at different step counts follow one path and increments over adjacent
 * intervals add up exactly.
 *
 * Construction (a Brownian tree, like torchsde's BrownianTree): W(0) = 0, W(T) = sqrt(T) z, and
 * the midpoint m of a dyadic interval [a, b] of depth d gets the Brownian-bridge draw
 *   W(m) = (W(a) + W(b)) / 2 + sqrt((b - a) / 4) z_{d+1, 2k+1},
 * with z seeded by mixSeed(seed, depth, index) of the point m = (2k + 1) T / 2^(d+1). Bisection
 * stops at the leaves, of width h = T / 2^depth. Within a leaf [a, b], with u = (t - a) / h,
 *   W(t) = W(a) + u (W(b) - W(a)) + sqrt(h u (1 - u)) z_leaf,
 * one normal z_leaf per leaf: W(t) has exactly the variance t, and any set of times in distinct
 * leaves has exactly the joint law of Brownian motion (the bridges of disjoint leaves are
 * independent given the nodes). The approximation is only between two times in ONE leaf, closer
 * than h: their bridge parts are fully correlated, so the increment's variance is
 * h (u2 - u1)^2 + h (sqrt(u2 (1 - u2)) - sqrt(u1 (1 - u1)))^2 instead of h (u2 - u1), short by
 * at most h/2 (about 5e-7 T at the default depth). W is continuous in t, so grid times that
 * differ by rounding give values that differ by O(sqrt(h |dt|)).
 *
 * Cost: the tree keeps the nodes of its last descent, so a query near the previous one
 * recomputes only the levels below their common ancestor: about log2(|dt| / h) + 1 levels of
 * `size` normals for a step of length |dt| (about 11 at 1,000 uniform steps on [0, 1]).
 */
export class BrownianPath {
  private readonly leafWidth: number;
  /** Cached descent: for each depth d <= valid, the node index and its endpoint values. */
  private readonly index: number[] = [];
  private readonly lo: Float64Array[] = [];
  private readonly hi: Float64Array[] = [];
  private valid = 0;
  private readonly recent = new Map<number, Float64Array>();

  constructor(
    private readonly seed: number,
    readonly T: number,
    readonly size: number,
    readonly depth = DEFAULT_BROWNIAN_DEPTH,
  ) {
    if (!(T > 0 && Number.isFinite(T))) throw new Error(`BrownianPath: T must be positive, got ${T}`);
    if (!(Number.isInteger(depth) && depth >= 0 && depth <= 40)) throw new Error(`BrownianPath: depth must be an integer in [0, 40], got ${depth}`);
    this.leafWidth = T / 2 ** depth;
    this.index[0] = 0;
    this.lo[0] = new Float64Array(size);
    this.hi[0] = this.normals(0, 1, Math.sqrt(T));
  }

  /** W(t) for t in [0, T] (remembered for the next queries: read it, do not modify it). */
  at(t: number): Float64Array {
    if (!(t >= 0 && t <= this.T)) throw new Error(`BrownianPath: time ${t} outside [0, T = ${this.T}]`);
    const known = this.recent.get(t);
    if (known) return known;
    const w = this.query(t);
    this.recent.set(t, w);
    if (this.recent.size > RECENT_TIMES) this.recent.delete(this.recent.keys().next().value!);
    return w;
  }

  /** The increment W(to) - W(from) (a fresh array). */
  increment(from: number, to: number): Float64Array {
    const a = this.at(from);
    const b = this.at(to);
    return b.map((v, j) => v - a[j]);
  }

  /** Standard normals of the tree point (depth, index), times `scale`. */
  private normals(depth: number, index: number, scale: number): Float64Array {
    const z = new Rng(mixSeed(this.seed, depth, index)).fillNormal(new Float64Array(this.size));
    for (let j = 0; j < z.length; j++) z[j] *= scale;
    return z;
  }

  /** Descends to t's leaf from the deepest cached node that contains it, then bridges inside the leaf. */
  private query(t: number): Float64Array {
    const D = this.depth;
    // Position in leaf units; t = T belongs to the last leaf (u = 1).
    const pos = (t / this.T) * 2 ** D;
    const leaf = Math.min(Math.floor(pos), 2 ** D - 1);
    let d = 1;
    while (d <= this.valid && this.index[d] === Math.floor(leaf / 2 ** (D - d))) d++;
    for (; d <= D; d++) this.descend(d, Math.floor(leaf / 2 ** (D - d)));
    this.valid = D;
    const u = Math.min(Math.max(pos - leaf, 0), 1);
    const [lo, hi] = [this.lo[D], this.hi[D]];
    if (u === 0) return Float64Array.from(lo);
    if (u === 1) return Float64Array.from(hi);
    const z = this.normals(D + 1, leaf, Math.sqrt(this.leafWidth * u * (1 - u)));
    for (let j = 0; j < z.length; j++) z[j] += lo[j] + u * (hi[j] - lo[j]);
    return z;
  }

  /** Sets the cached node at depth d to child `k` of the cached node at depth d - 1, drawing the parent's midpoint. */
  private descend(d: number, k: number): void {
    const [plo, phi] = [this.lo[d - 1], this.hi[d - 1]];
    const parentWidth = this.T / 2 ** (d - 1);
    // The parent's midpoint is the tree point (depth d, index 2 floor(k / 2) + 1) = (d, k | 1).
    const mid = this.normals(d, k | 1, Math.sqrt(parentWidth / 4));
    for (let j = 0; j < mid.length; j++) mid[j] += (plo[j] + phi[j]) / 2;
    this.index[d] = k;
    this.lo[d] = k % 2 === 0 ? plo : mid;
    this.hi[d] = k % 2 === 0 ? mid : phi;
    this.valid = d;
  }
}

/**
 * A noise sampler on Brownian paths of seed mixSeed(seed, BROWNIAN_STREAM) on [0, T], one path per
 * element count: a draw with interval {from, to} is the normalised increment
 * (W(from) - W(to)) / sqrt(|from - to|), entry by entry over the tensor (its stage is ignored: one
 * path has one increment per interval). Draws without an interval (Langevin corrector noise,
 * imputation replacements) or of zero length come from `independent`.
 */
export function brownianNoise(seed: number, T: number, independent: NoiseSampler, depth = DEFAULT_BROWNIAN_DEPTH): NoiseSampler {
  const pathSeed = mixSeed(seed, BROWNIAN_STREAM);
  const paths = new Map<number, BrownianPath>();
  return (shape, step, stage, interval) => {
    if (!interval || interval.from === interval.to) return independent(shape, step, stage, interval);
    const size = shape.reduce((p, q) => p * q, 1);
    let path = paths.get(size);
    if (!path) paths.set(size, (path = new BrownianPath(pathSeed, T, size, depth)));
    const dW = path.increment(interval.to, interval.from);
    const scale = 1 / Math.sqrt(Math.abs(interval.from - interval.to));
    const out = new Float32Array(size);
    for (let j = 0; j < size; j++) out[j] = dW[j] * scale;
    return tf.tensor(out, shape, 'float32');
  };
}
