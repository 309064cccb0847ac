import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import type { SDE } from '../sde/types.js';

/**
 * An isotropic Gaussian mixture p(x) = sum_k w_k N(x; mu_k, s_k^2 I) in any dimension D,
 * the oracle's data distribution. `classes[k]` optionally labels component k (for --class).
 */
export interface GaussianMixture {
  weights: number[];
  means: number[][];
  stds: number[];
  classes?: number[];
}

/** Largest |sum of weights - 1| accepted. */
export const WEIGHT_SUM_TOLERANCE = 1e-6;

const KEYS = ['weights', 'means', 'stds', 'classes'];

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * Checks a parsed value as a mixture; every problem is a one-line UsageError starting with
 * `source` (the file name): missing or unknown keys, non-finite numbers, std <= 0, negative
 * weights, weights not summing to 1 within 1e-6, means of mixed dimension, length mismatch,
 * classes that are not non-negative integers.
 */
export function validateMixture(value: unknown, source: string): GaussianMixture {
  const fail = (msg: string): never => {
    throw new UsageError(`${source}: ${msg}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('expected a JSON object {"weights": [..], "means": [[..], ..], "stds": [..]}');
  }
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) if (!KEYS.includes(key)) fail(`unknown key '${key}', expected weights, means, stds and optionally classes`);
  const { weights, means, stds, classes } = obj;
  if (!Array.isArray(weights) || weights.length === 0) fail('"weights" must be a non-empty array of numbers');
  if (!Array.isArray(means)) fail('"means" must be an array of arrays of numbers');
  if (!Array.isArray(stds)) fail('"stds" must be an array of numbers');
  const w = weights as unknown[];
  const m = means as unknown[];
  const s = stds as unknown[];
  const K = w.length;
  if (m.length !== K || s.length !== K) fail(`length mismatch: ${K} weights, ${m.length} means, ${s.length} stds`);
  w.forEach((v, k) => {
    if (!isFiniteNumber(v) || v < 0) fail(`weights[${k}] must be a finite number >= 0, got ${JSON.stringify(v)}`);
  });
  const sum = (w as number[]).reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) fail(`weights must sum to 1 (within ${WEIGHT_SUM_TOLERANCE}), they sum to ${sum}`);
  s.forEach((v, k) => {
    if (!isFiniteNumber(v) || v <= 0) fail(`stds[${k}] must be a finite number > 0, got ${JSON.stringify(v)}`);
  });
  let D = -1;
  m.forEach((mu, k) => {
    if (!Array.isArray(mu) || mu.length === 0) fail(`means[${k}] must be a non-empty array of numbers`);
    const row = mu as unknown[];
    if (D < 0) D = row.length;
    else if (row.length !== D) fail(`means of mixed dimension: means[0] has ${D} entries, means[${k}] has ${row.length}`);
    row.forEach((v, j) => {
      if (!isFiniteNumber(v)) fail(`means[${k}][${j}] must be a finite number, got ${JSON.stringify(v)}`);
    });
  });
  const mix: GaussianMixture = { weights: [...(w as number[])], means: (m as number[][]).map((r) => [...r]), stds: [...(s as number[])] };
  if (classes !== undefined) {
    if (!Array.isArray(classes) || classes.length !== K) fail(`"classes" must be an array of ${K} integers, one per component`);
    (classes as unknown[]).forEach((v, k) => {
      if (!(isFiniteNumber(v) && Number.isInteger(v) && v >= 0)) fail(`classes[${k}] must be an integer >= 0, got ${JSON.stringify(v)}`);
    });
    mix.classes = [...(classes as number[])];
  }
  return mix;
}

/** Parses and validates mixture JSON text; `source` (the file name) starts every error message. */
export function parseMixture(text: string, source: string): GaussianMixture {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${source}: invalid JSON (${String((e as Error).message).replace(/\s+/g, ' ')})`);
  }
  return validateMixture(value, source);
}

/** Reads, parses and validates a mixture file (MIX.json of `--oracle`). */
export function loadMixture(file: string): GaussianMixture {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: cannot read the mixture file (${code ?? String((e as Error).message).replace(/\s+/g, ' ')})`);
  }
  return parseMixture(text, file);
}

/** Dimension D of the mixture. */
export function mixtureDim(mix: GaussianMixture): number {
  return mix.means[0].length;
}

/**
 * The components of class c, weights renormalized: p(x | c) for `--class C`.
 * A UsageError naming `flag` when the mixture has no classes or none equal to c.
 */
export function conditionOnClass(mix: GaussianMixture, c: number, flag = '--class'): GaussianMixture {
  if (!mix.classes) throw new UsageError(`${flag}: the mixture has no "classes"`);
  const keep = mix.classes.map((k, i) => (k === c ? i : -1)).filter((i) => i >= 0);
  const total = keep.reduce((a, i) => a + mix.weights[i], 0);
  if (keep.length === 0 || !(total > 0)) throw new UsageError(`${flag}: no component of the mixture has class ${c} (classes: ${[...new Set(mix.classes)].join(', ')})`);
  return {
    weights: keep.map((i) => mix.weights[i] / total),
    means: keep.map((i) => [...mix.means[i]]),
    stds: keep.map((i) => mix.stds[i]),
    classes: keep.map(() => c),
  };
}

/**
 * The mixture of x_t = mean x_0 + std z for x_0 from `mix`: again isotropic Gaussian, with
 * means mean * mu_k and stds sqrt(mean^2 s_k^2 + std^2).
 */
export function diffuseMixture(mix: GaussianMixture, mean: number, std: number): GaussianMixture {
  return {
    ...mix,
    weights: [...mix.weights],
    means: mix.means.map((mu) => mu.map((v) => mean * v)),
    stds: mix.stds.map((s) => Math.sqrt(mean * mean * s * s + std * std)),
  };
}

/** The marginal p_t of the mixture under an SDE: diffuseMixture with the SDE's mean(t), std(t) (float64). */
export function mixtureAt(sde: SDE, mix: GaussianMixture, t: number): GaussianMixture {
  const { mean, std } = sde.marginalAt(t);
  return diffuseMixture(mix, mean, std);
}

/** Per-component log w_k + log N(x; mu_k, s_k^2 I), float64. */
function componentLogTerms(mix: GaussianMixture, x: ArrayLike<number>): number[] {
  const D = mixtureDim(mix);
  if (x.length !== D) throw new Error(`mixture: expected a point of dimension ${D}, got ${x.length}`);
  return mix.weights.map((w, k) => {
    const mu = mix.means[k];
    const v = mix.stds[k] ** 2;
    let sq = 0;
    for (let j = 0; j < D; j++) sq += (x[j] - mu[j]) ** 2;
    return Math.log(w) - sq / (2 * v) - 0.5 * D * Math.log(2 * Math.PI * v);
  });
}

function logSumExp(a: number[]): number {
  const m = Math.max(...a);
  if (m === -Infinity) return -Infinity;
  return m + Math.log(a.reduce((s, v) => s + Math.exp(v - m), 0));
}

/** log p(x) = log sum_k w_k N(x; mu_k, s_k^2 I), float64 by log-sum-exp. */
export function mixtureLogDensity(mix: GaussianMixture, x: ArrayLike<number>): number {
  return logSumExp(componentLogTerms(mix, x));
}

/** Component-membership probabilities p(k | x) = w_k N(x; mu_k, s_k^2 I) / p(x), float64. */
export function mixtureMembership(mix: GaussianMixture, x: ArrayLike<number>): number[] {
  const terms = componentLogTerms(mix, x);
  const lse = logSumExp(terms);
  return terms.map((v) => Math.exp(v - lse));
}

/** grad_x log p(x) = sum_k p(k | x) (mu_k - x) / s_k^2, float64. */
export function mixtureScoreAt(mix: GaussianMixture, x: ArrayLike<number>): number[] {
  const r = mixtureMembership(mix, x);
  const out = new Array<number>(x.length).fill(0);
  r.forEach((rk, k) => {
    const v = mix.stds[k] ** 2;
    for (let j = 0; j < x.length; j++) out[j] += (rk * (mix.means[k][j] - x[j])) / v;
  });
  return out;
}

/** The most probable component argmax_k p(k | x) of each point. */
export function assignComponents(mix: GaussianMixture, points: ArrayLike<number>[]): Int32Array {
  return Int32Array.from(points, (x) => {
    const r = mixtureMembership(mix, x);
    let best = 0;
    for (let k = 1; k < r.length; k++) if (r[k] > r[best]) best = k;
    return best;
  });
}

/** Mean of the mixture: sum_k w_k mu_k. */
export function mixtureMean(mix: GaussianMixture): number[] {
  const D = mixtureDim(mix);
  const out = new Array<number>(D).fill(0);
  mix.weights.forEach((w, k) => {
    for (let j = 0; j < D; j++) out[j] += w * mix.means[k][j];
  });
  return out;
}

/** Covariance of the mixture: sum_k w_k (s_k^2 I + mu_k mu_k^T) - mean mean^T (D x D). */
export function mixtureCovariance(mix: GaussianMixture): number[][] {
  const D = mixtureDim(mix);
  const mean = mixtureMean(mix);
  const cov = Array.from({ length: D }, () => new Array<number>(D).fill(0));
  mix.weights.forEach((w, k) => {
    const mu = mix.means[k];
    const v = mix.stds[k] ** 2;
    for (let i = 0; i < D; i++) {
      cov[i][i] += w * v;
      for (let j = 0; j < D; j++) cov[i][j] += w * mu[i] * mu[j];
    }
  });
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) cov[i][j] -= mean[i] * mean[j];
  return cov;
}
