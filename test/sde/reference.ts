/*
 * Float64 closed forms written from the papers, independent of src/sde, that the tests compare
 * the code against. Nothing here imports the code under test.
 *
 * - Song et al. 2021 (score SDE), eqs. (10)-(11) and (29)-(33): VP, sub-VP, VE marginals.
 * - Ho et al. 2020: linear betas linspace(1e-4, 0.02, 1000).
 * - Nichol & Dhariwal 2021: cosine alpha-bar f(t)/f(0), f(t) = cos^2(pi/2 (t + s)/(1 + s)).
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';

/** float32 machine epsilon 2^-23. */
export const EPS32 = 2 ** -23;

export interface Closed {
  /** beta(t) of the VP/sub-VP schedule (unused for VE). */
  beta(t: number): number;
  /** drift coefficient a(t), f(x, t) = a(t) x. */
  a(t: number): number;
  /** g(t)^2. */
  g2(t: number): number;
  mean(t: number): number;
  std(t: number): number;
}

/** Linear schedule: beta(t) = beta_min + t (beta_max - beta_min), B(t) = beta_min t + (beta_max - beta_min) t^2 / 2. */
export function linearB(t: number, bMin = 0.1, bMax = 20): number {
  return bMin * t + ((bMax - bMin) * t * t) / 2;
}
export function linearBeta(t: number, bMin = 0.1, bMax = 20): number {
  return bMin + (bMax - bMin) * t;
}

/** VP with the linear schedule: mean = exp(-B/2), std = sqrt(1 - exp(-B)). */
export function vpLinear(bMin = 0.1, bMax = 20): Closed {
  return {
    beta: (t) => linearBeta(t, bMin, bMax),
    a: (t) => -0.5 * linearBeta(t, bMin, bMax),
    g2: (t) => linearBeta(t, bMin, bMax),
    mean: (t) => Math.exp(-0.5 * linearB(t, bMin, bMax)),
    std: (t) => Math.sqrt(-Math.expm1(-linearB(t, bMin, bMax))),
  };
}

/** sub-VP with the linear schedule: mean = exp(-B/2), std = 1 - exp(-B), g^2 = beta (1 - exp(-2B)). */
export function subvpLinear(bMin = 0.1, bMax = 20): Closed {
  return {
    beta: (t) => linearBeta(t, bMin, bMax),
    a: (t) => -0.5 * linearBeta(t, bMin, bMax),
    g2: (t) => linearBeta(t, bMin, bMax) * -Math.expm1(-2 * linearB(t, bMin, bMax)),
    mean: (t) => Math.exp(-0.5 * linearB(t, bMin, bMax)),
    std: (t) => -Math.expm1(-linearB(t, bMin, bMax)),
  };
}

export const COSINE_S = 0.008;

/** Nichol & Dhariwal's f(t) = cos^2(pi/2 (t + s)/(1 + s)). */
export function cosineF(t: number, s = COSINE_S): number {
  return Math.cos(((Math.PI / 2) * (t + s)) / (1 + s)) ** 2;
}

/** alpha-bar(t) = f(t)/f(0). */
export function cosineAlphaBar(t: number, s = COSINE_S): number {
  return cosineF(t, s) / cosineF(0, s);
}

/**
 * 1 - alpha-bar(t) without cancellation: with x = pi/2 s/(1+s), y = pi/2 (t+s)/(1+s),
 * cos^2 x - cos^2 y = sin(y + x) sin(y - x), so 1 - f(t)/f(0) = sin(x + y) sin(y - x) / cos^2 x.
 */
export function cosineOneMinusAlphaBar(t: number, s = COSINE_S): number {
  const x = ((Math.PI / 2) * s) / (1 + s);
  const y = ((Math.PI / 2) * (t + s)) / (1 + s);
  return (Math.sin(x + y) * Math.sin(y - x)) / Math.cos(x) ** 2;
}

/** beta(t) = -d/dt log alpha-bar(t) = pi/(1 + s) tan(pi/2 (t + s)/(1 + s)). */
export function cosineBeta(t: number, s = COSINE_S): number {
  return (Math.PI / (1 + s)) * Math.tan(((Math.PI / 2) * (t + s)) / (1 + s));
}

/**
 * Relative float32 tolerance for cos(x) and tan(x), x = pi/2 (t + s)/(1 + s), computed from t: the
 * couple of roundings in forming x (relative ~2^-23 together) are amplified by the condition number
 * x/(sin x cos x) >= |d log cos x / d log x|, |d log tan x / d log x|, which reaches ~185 at T = 0.9946.
 */
export function cosineRelTol(t: number, base = 1e-5, s = COSINE_S): number {
  const x = ((Math.PI / 2) * (t + s)) / (1 + s);
  return base + 2 * EPS32 * (x / (Math.sin(x) * Math.cos(x)));
}

/** VP with the cosine schedule: mean = sqrt(alpha-bar), std = sqrt(1 - alpha-bar). */
export function vpCosine(): Closed {
  return {
    beta: cosineBeta,
    a: (t) => -0.5 * cosineBeta(t),
    g2: cosineBeta,
    mean: (t) => Math.sqrt(cosineAlphaBar(t)),
    std: (t) => Math.sqrt(cosineOneMinusAlphaBar(t)),
  };
}

/**
 * VE: sigma(t) = sigma_min (sigma_max/sigma_min)^t, g^2 = d sigma^2/dt = 2 sigma^2 log(sigma_max/sigma_min),
 * x_t = x_0 + N(0, sigma(t)^2 - sigma_min^2).
 */
export function ve(sMin = 0.01, sMax = 50): Closed {
  const sigma = (t: number) => sMin * (sMax / sMin) ** t;
  return {
    beta: () => NaN,
    a: () => 0,
    g2: (t) => 2 * sigma(t) ** 2 * Math.log(sMax / sMin),
    mean: () => 1,
    // sqrt(sigma(t)^2 - sigma_min^2), as sigma_min sqrt((sigma_max/sigma_min)^(2t) - 1) with expm1 so
    // that the float64 reference itself does not cancel at t = 1e-5
    std: (t) => sMin * Math.sqrt(Math.expm1(2 * t * Math.log(sMax / sMin))),
  };
}

/** linspace(a, b, n) in float64, as numpy defines it. */
export function linspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));
}

/** Relative error |got - want| / |want|. */
export function relErr(got: number, want: number): number {
  return Math.abs(got - want) / Math.abs(want);
}

/** Expects every |got_i - want_i| <= relTol_i |want_i| + absTol (relTol one number or one per element), reporting the worst element. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, relTol: number | ArrayLike<number>, absTol = 0, what = ''): void {
  expect(got.length).toBe(want.length);
  let worst = -Infinity;
  let at = -1;
  const rel = (i: number) => (typeof relTol === 'number' ? relTol : relTol[i]);
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - (rel(i) * Math.abs(want[i]) + absTol);
    if (!(excess <= worst) || Number.isNaN(got[i])) {
      worst = Number.isNaN(got[i]) ? Infinity : excess;
      at = i;
    }
  }
  if (!(worst <= 0)) {
    throw new Error(`${what}: element ${at}: got ${got[at]}, want ${want[at]} (rel ${rel(at)}, abs ${absTol})`);
  }
}

/** erf(x) in float64: Maclaurin series for |x| <= 2.5, 1 - erfc(x) above. */
export function erf(x: number): number {
  if (x < 0) return -erf(-x);
  if (x > 2.5) return 1 - erfc(x);
  if (Number.isNaN(x)) return NaN;
  // erf(x) = 2/sqrt(pi) sum_n (-1)^n x^(2n+1) / (n! (2n+1)); terms peak near exp(x^2) ~ 500, so ~1e-13 relative.
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/**
 * erfc(x) in float64 with full relative precision in the upper tail: the series for x <= 2.5,
 * the continued fraction erfc(x) = exp(-x^2)/sqrt(pi) * 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
 * (modified Lentz) above.
 */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x === Infinity) return 0;
  if (x <= 2.5) return 1 - erf(x);
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    D = x + an * D;
    D = D === 0 ? tiny : 1 / D;
    C = x + an / C;
    if (C === 0) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** Upper tail Q(z) = P(Z > z) = erfc(z/sqrt 2)/2. */
export function normalSf(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** P(lo < Z < hi) for Z ~ N(0, 1), computed on the side that avoids cancellation; lo may be -inf, hi +inf. */
export function normalMass(lo: number, hi: number): number {
  if (lo >= 0) return normalSf(lo) - normalSf(hi);
  if (hi <= 0) return normalSf(-hi) - normalSf(-lo);
  return 1 - normalSf(hi) - normalSf(-lo);
}

/** Reads a tensor into a float64 array and disposes it. */
export function take(t: tf.Tensor): Float64Array {
  const v = Float64Array.from(t.dataSync());
  t.dispose();
  return v;
}

/** A seeded uniform generator on [0, 1) (mulberry32) for test inputs. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values rounded to float32, i.e. what a tensor actually holds. */
export function f32(values: number[]): number[] {
  return values.map(Math.fround);
}
