import type * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import type { ConditionalScore, SDE } from '../sde/types.js';
import { conditionOnClass, mixtureDim, type GaussianMixture } from './mixture.js';
import { mixtureScore, type DisposableScoreFn } from './score.js';

/** A conditional score that holds tensors of its own: call dispose() when done with it. */
export type DisposableConditionalScore = ConditionalScore & { dispose(): void };

/**
 * The oracle's class-conditional score: s(x, t, c) is the exact score of p_t(x | c), the
 * mixture of the components of class c with weights renormalized (conditionOnClass), and
 * s(x, t, null) the exact score of the whole mixture p_t(x) = sum_c p(c) p_t(x | c). The scores
 * of every class are built up front (a class the mixture lacks is a UsageError naming --class
 * when called, as is any class when the mixture has no "classes").
 */
export function mixtureConditionalScore(sde: SDE, mix: GaussianMixture): DisposableConditionalScore {
  const full = mixtureScore(sde, mix);
  const byClass = new Map<number, DisposableScoreFn>();
  for (const c of new Set(mix.classes ?? [])) {
    // conditionOnClass drops nothing but the other classes; a class of total weight 0 has no score.
    if (mix.classes!.some((k, i) => k === c && mix.weights[i] > 0)) byClass.set(c, mixtureScore(sde, conditionOnClass(mix, c)));
  }
  const fn = ((x: tf.Tensor, t: tf.Tensor, label: number | null) => {
    if (label === null) return full(x, t);
    const s = byClass.get(label);
    if (!s) conditionOnClass(mix, label); // throws the UsageError naming --class
    return s!(x, t);
  }) as DisposableConditionalScore;
  fn.dispose = () => {
    full.dispose();
    byClass.forEach((s) => s.dispose());
  };
  return fn;
}

/** A known coordinate: its index in the flattened sample and its value. */
export type KnownCoordinate = readonly [index: number, value: number];

/**
 * The exact conditional of the unknown coordinates U given known ones x_K = y, float64:
 * p(x_U | x_K = y) = sum_k w'_k N(x_U; mu_k,U, s_k^2 I) with
 * w'_k = w_k N(y; mu_k,K, s_k^2 I) / sum_j w_j N(y; mu_j,K, s_j^2 I) (by log-sum-exp).
 * Returns that mixture over the coordinates `unknown` (increasing; empty when every coordinate is
 * known, and the mixture is then undefined). Classes are kept.
 */
export function conditionOnCoordinates(mix: GaussianMixture, known: readonly KnownCoordinate[]): { mixture?: GaussianMixture; unknown: number[] } {
  const D = mixtureDim(mix);
  const isKnown = new Array<boolean>(D).fill(false);
  for (const [j, v] of known) {
    if (!(Number.isInteger(j) && j >= 0 && j < D)) throw new UsageError(`known coordinate ${j} is out of range 0..${D - 1}`);
    if (!Number.isFinite(v)) throw new UsageError(`known coordinate ${j}: expected a finite value, got ${v}`);
    isKnown[j] = true;
  }
  const unknown = isKnown.map((k, j) => (k ? -1 : j)).filter((j) => j >= 0);
  if (unknown.length === 0) return { unknown };
  const logW = mix.weights.map((w, k) => {
    const v = mix.stds[k] ** 2;
    let sq = 0;
    for (const [j, y] of known) sq += (y - mix.means[k][j]) ** 2;
    return Math.log(w) - sq / (2 * v) - 0.5 * known.length * Math.log(2 * Math.PI * v);
  });
  const top = Math.max(...logW);
  const raw = logW.map((l) => Math.exp(l - top));
  const total = raw.reduce((a, b) => a + b, 0);
  const mixture: GaussianMixture = {
    weights: raw.map((r) => r / total),
    means: mix.means.map((mu) => unknown.map((j) => mu[j])),
    stds: [...mix.stds],
    ...(mix.classes ? { classes: [...mix.classes] } : {}),
  };
  return { mixture, unknown };
}

/**
 * Exact draws of the whole sample given known coordinates: the known ones equal their values,
 * the others come from conditionOnCoordinates' mixture (computed once, float64 on the host): a
 * component k ~ Categorical(w') by `uniform`, then x_U = mu_k,U + s_k z with z from `normal`.
 */
export function givenKnownSampler(mix: GaussianMixture, known: readonly KnownCoordinate[]): (uniform: () => number, normal: () => number) => number[] {
  const D = mixtureDim(mix);
  const { mixture, unknown } = conditionOnCoordinates(mix, known);
  return (uniform, normal) => {
    const x = new Array<number>(D).fill(0);
    for (const [j, v] of known) x[j] = v;
    if (!mixture) return x;
    const r = uniform();
    let k = 0;
    for (let acc = mixture.weights[0]; k < mixture.weights.length - 1 && r >= acc; ) acc += mixture.weights[++k];
    unknown.forEach((j, i) => (x[j] = mixture.means[k][i] + mixture.stds[k] * normal()));
    return x;
  };
}
