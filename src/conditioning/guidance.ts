import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import type { ConditionalScore, CostedScoreFn, ScoreFn } from '../sde/types.js';

/**
 * Network evaluations one call of `score` makes: its `evaluationsPerCall` when it reports one
 * (a CostedScoreFn, e.g. guidedScore with W > 0: 2), else 1. NFE = calls x evaluationsPerCall.
 */
export function evaluationsPerCall(score: ScoreFn): number {
  return (score as Partial<CostedScoreFn>).evaluationsPerCall ?? 1;
}

/** Checks a guidance weight W: a finite number >= 0 (a UsageError naming --guidance otherwise). */
export function checkGuidance(guidance: number): number {
  if (!(Number.isFinite(guidance) && guidance >= 0)) throw new UsageError(`--guidance: expected a number >= 0, got ${guidance}`);
  return guidance;
}

/**
 * The score to sample class `label` with guidance weight W >= 0, by classifier-free guidance
 * (Ho & Salimans 2022) in eps space: eps~(x, t) = (1 + W) eps(x, t, c) - W eps(x, t, none).
 * With eps = -std(t) s at every t this is the same combination of scores,
 * s~(x, t) = (1 + W) s(x, t, c) - W s(x, t, none), so every solver can use it unchanged.
 * W = 0 is plain conditional sampling, s~ = s(x, t, c), with one evaluation per call; W > 0
 * evaluates both and reports evaluationsPerCall = 2, which the solvers' NFE count reads.
 * label null is the unconditional score (W must then be 0). The result runs in its own tf.tidy.
 */
export function guidedScore(score: ConditionalScore, label: number | null, guidance = 0): CostedScoreFn {
  const w = checkGuidance(guidance);
  if (label === null && w > 0) throw new UsageError('--guidance: needs a class (--class C) to guide towards');
  if (label !== null && !(Number.isInteger(label) && label >= 0)) throw new UsageError(`--class: expected an integer >= 0, got ${label}`);
  if (w === 0) return Object.assign((x: tf.Tensor, t: tf.Tensor) => score(x, t, label), { evaluationsPerCall: 1 });
  const fn = (x: tf.Tensor, t: tf.Tensor) =>
    tf.tidy(() => tf.sub(tf.mul(score(x, t, label), 1 + w), tf.mul(score(x, t, null), w)));
  return Object.assign(fn, { evaluationsPerCall: 2 });
}
