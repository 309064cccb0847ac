import * as tf from '@tensorflow/tfjs';
import { driftCoefficients } from '../sde/reverse.js';
import type { CostedScoreFn, ScoreFn, SDE } from '../sde/types.js';
import type { NoiseSampler } from './types.js';
import { mixSeed, normalArray } from '../random.js';

/** Stream ids under the base seed. */
export const PRIOR_STREAM = 1;
export const NOISE_STREAM = 2;
/** The Brownian path of the `noise: 'brownian'` option (brownian.ts). */
export const BROWNIAN_STREAM = 3;
/** The noise stage of the imputation's replacement draws (solvers use stages 0, 1, ...). */
export const IMPUTE_STAGE = 0x7fffffff;

/**
 * A tensor of standard normal draws generated on the host by normalArray (src/random.ts): the
 * same numbers on every backend, and several times faster than tf.randomNormal.
 */
export function normalTensor(shape: number[], seed: number): tf.Tensor {
  const n = shape.reduce((p, q) => p * q, 1);
  return tf.tensor(normalArray(n, seed), shape, 'float32');
}

/** Seeded N(0, I) noise: step i, stage k draws with seed mixSeed(seed, NOISE_STREAM, i, k). */
export function seededNoise(seed: number): NoiseSampler {
  return (shape, step, stage) => normalTensor(shape, mixSeed(seed, NOISE_STREAM, step, stage));
}

/** A scalar time tensor. */
export function time(t: number): tf.Tensor {
  return tf.scalar(t, 'float32');
}

/**
 * Wraps a score so that every call adds its cost to `counter.nfe` (no tensor sync): 1, or the
 * score's own `evaluationsPerCall` (a CostedScoreFn: classifier-free guidance counts 2).
 */
export function countedScore(score: ScoreFn, counter: { nfe: number }): ScoreFn {
  const cost = (score as Partial<CostedScoreFn>).evaluationsPerCall ?? 1;
  return (x, t) => {
    counter.nfe += cost;
    return score(x, t);
  };
}

/** F(x, t) = a(t) x - lambda g(t)^2 s(x, t) at a host time: the reverse SDE's drift (lambda = 1) or the probability-flow ODE's (1/2). */
export function reverseTimeDrift(sde: SDE, score: ScoreFn, x: tf.Tensor, t: number, lambda: number): tf.Tensor {
  const c = driftCoefficients(sde, t, lambda);
  return tf.add(tf.mul(x, c.x), tf.mul(score(x, time(t)), c.score));
}

/**
 * One Euler step of length h from t to t - h on the reverse-time drift F (see reverseTimeDrift):
 * x - h F(x, t) = x + [(-h a) x + (h lambda g^2) s], the small increment added to x last so that
 * float32 rounding is relative to the increment, not to x.
 */
export function eulerStep(sde: SDE, score: ScoreFn, x: tf.Tensor, t: number, h: number, lambda: number): tf.Tensor {
  const c = driftCoefficients(sde, t, lambda);
  return tf.add(x, tf.add(tf.mul(x, -h * c.x), tf.mul(score(x, time(t)), -h * c.score)));
}

/**
 * One Heun (trapezoid) step from t to t' on the reverse-time drift F of weight lambda (see
 * reverseTimeDrift), with optional additive noise increments n1, n2 (the same normal draw scaled
 * for each stage): k1 = F(x, t), x~ = x - h k1 + n1, k2 = F(x~, t'), x' = x - h/2 (k1 + k2) + n2.
 * Without noise it is Heun's method on the probability-flow ODE. Two NFE.
 */
export function heunStep(sde: SDE, score: ScoreFn, x: tf.Tensor, t: number, tNext: number, lambda: number, noise?: { predictor: tf.Tensor; corrector: tf.Tensor }): tf.Tensor {
  const h = t - tNext;
  const k1 = reverseTimeDrift(sde, score, x, t, lambda);
  const euler = tf.sub(x, tf.mul(k1, h));
  const k2 = reverseTimeDrift(sde, score, noise ? tf.add(euler, noise.predictor) : euler, tNext, lambda);
  const next = tf.sub(x, tf.mul(tf.add(k1, k2), h / 2));
  return noise ? tf.add(next, noise.corrector) : next;
}

/** Tweedie's denoiser E[x_0 | x_t] = (x + std(t)^2 s(x, t)) / mean(t). */
export function tweedie(sde: SDE, score: ScoreFn, x: tf.Tensor, t: number): tf.Tensor {
  const { mean, std } = sde.marginalAt(t);
  return tf.div(tf.add(x, tf.mul(score(x, time(t)), std * std)), mean);
}

/**
 * The linear forward transition from s to t > s: x_t = r x_s + sqrt(v) z with
 * r = mean(t)/mean(s) and v = std(t)^2 - r^2 std(s)^2 (exact for any linear-drift SDE).
 */
export function transition(sde: SDE, s: number, t: number): { r: number; v: number } {
  const a = sde.marginalAt(s);
  const b = sde.marginalAt(t);
  const r = b.mean / a.mean;
  return { r, v: Math.max(b.std * b.std - r * r * a.std * a.std, 0) };
}
