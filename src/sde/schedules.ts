import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { parseExpression, type Expression } from './expression.js';
import { gaussLegendre, integrate } from './quadrature.js';

/**
 * A noise-rate schedule beta(t) of the VP and sub-VP SDEs with its integral
 * B(t) = int_0^t beta(s) ds, on tensors (float32) and on the host (float64).
 */
export interface BetaSchedule {
  /** 'linear', 'cosine' or the user's expression. */
  readonly name: string;
  /** The end time T of the SDE for this schedule (beta must be finite on [0, T]). */
  readonly T: number;
  beta(t: tf.Tensor): tf.Tensor;
  integral(t: tf.Tensor): tf.Tensor;
  betaAt(t: number): number;
  integralAt(t: number): number;
}

/** Linear schedule beta(t) = beta_min + t (beta_max - beta_min), B(t) = beta_min t + t^2 (beta_max - beta_min) / 2. */
export function linearSchedule(betaMin = 0.1, betaMax = 20): BetaSchedule {
  if (!(Number.isFinite(betaMin) && betaMin > 0)) throw new UsageError(`--beta-min: expected a positive number, got ${betaMin}`);
  if (!(Number.isFinite(betaMax) && betaMax > betaMin)) {
    throw new UsageError(`--beta-max: expected a number greater than --beta-min (${betaMin}), got ${betaMax}`);
  }
  const slope = betaMax - betaMin;
  return {
    name: 'linear',
    T: 1,
    beta: (t) => tf.tidy(() => tf.add(betaMin, tf.mul(slope, t))),
    integral: (t) => tf.tidy(() => tf.mul(t, tf.add(betaMin, tf.mul(0.5 * slope, t)))),
    betaAt: (t) => betaMin + slope * t,
    integralAt: (t) => t * (betaMin + 0.5 * slope * t),
  };
}

/**
 * End time of the continuous cosine schedule: beta(t) diverges at t = 1, so, as DPM-Solver
 * does, the SDE stops at T = 0.9946, where alpha-bar(T) ~ 7e-5 (mean 0.0084).
 */
export const COSINE_T = 0.9946;

/**
 * Cosine schedule of Nichol & Dhariwal (2021): alpha-bar(t) = f(t)/f(0) with
 * f(t) = cos^2(pi/2 (t + s)/(1 + s)), s = 0.008. Then B(t) = -log alpha-bar(t) and
 * beta(t) = B'(t) = pi/(1 + s) tan(pi/2 (t + s)/(1 + s)).
 */
export function cosineSchedule(s = 0.008): BetaSchedule {
  const k = Math.PI / 2 / (1 + s);
  const tanKs = Math.tan(k * s);
  // B(t) = -2 log(cos(k(t + s)) / cos(ks)) = -2 log1p(-w), w = 2 sin^2(kt/2) + tan(ks) sin(kt):
  // no cancellation at small t (log cos(k(t + s)) - log cos(ks) lost all float32 digits at t = 1e-5).
  return {
    name: 'cosine',
    T: COSINE_T,
    beta: (t) => tf.tidy(() => tf.mul(2 * k, tf.tan(tf.mul(k, tf.add(t, s))))),
    integral: (t) =>
      tf.tidy(() => {
        const kt = tf.mul(k, t);
        const w = tf.add(tf.mul(2, tf.square(tf.sin(tf.mul(0.5, kt)))), tf.mul(tanKs, tf.sin(kt)));
        return tf.mul(-2, log1pTensor(tf.neg(w)));
      }),
    betaAt: (t) => 2 * k * Math.tan(k * (t + s)),
    integralAt: (t) => -2 * Math.log1p(-(2 * Math.sin(0.5 * k * t) ** 2 + tanKs * Math.sin(k * t))),
  };
}

/**
 * log(1 + y) on tensors, accurate for small |y| on every backend (wasm's log1p is log(1 + y)):
 * Kahan's trick, log(u) y / (u - 1) with u = 1 + y rounded, and y itself where u rounds to 1.
 */
function log1pTensor(y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const u = tf.add(1, y);
    const d = tf.sub(u, 1);
    const same = tf.equal(d, 0);
    return tf.where(same, y, tf.mul(tf.log(u), tf.div(y, tf.where(same, tf.onesLike(d), d))));
  });
}

const TENSOR_QUADRATURE = gaussLegendre(16);

/**
 * A schedule from a user expression beta(t), e.g. "0.1 + 19.9*t". B(t) has no closed form in
 * general, so it is integrated numerically: 16-point Gauss-Legendre on [0, t] on tensors, and
 * composite Gauss-Legendre in float64 on the host. beta must be finite and positive on [0, 1].
 */
export function expressionSchedule(source: string, flag = '--schedule'): BetaSchedule {
  const expr: Expression = parseExpression(source, flag);
  for (let i = 0; i <= 1000; i++) {
    const t = i / 1000;
    const b = expr.host(t);
    if (!(Number.isFinite(b) && b > 0)) {
      throw new UsageError(`${flag}: beta(t) = '${source}' must be finite and positive on [0, 1], but beta(${t}) = ${b}`);
    }
  }
  const { nodes, weights } = TENSOR_QUADRATURE;
  const nodeFractions = Array.from(nodes, (x) => (x + 1) / 2);
  const halfWeights = Array.from(weights, (w) => w / 2);
  return {
    name: source,
    T: 1,
    beta: (t) => expr.tensor(t),
    integral: (t) =>
      tf.tidy(() => {
        // B(t) = t * sum_k (w_k/2) beta(t (x_k + 1)/2), evaluated with a trailing quadrature axis.
        const tt = t.expandDims(-1);
        const values = expr.tensor(tf.mul(tt, tf.tensor1d(nodeFractions)));
        return tf.mul(t, tf.sum(tf.mul(values, tf.tensor1d(halfWeights)), -1));
      }),
    betaAt: (t) => expr.host(t),
    integralAt: (t) => integrate(expr.host, 0, t),
  };
}

/**
 * The schedule named by `--schedule`: 'linear' (with beta_min, beta_max), 'cosine', or any
 * other string taken as an expression beta(t).
 */
export function makeSchedule(name: string, betaMin = 0.1, betaMax = 20): BetaSchedule {
  if (name === 'linear') return linearSchedule(betaMin, betaMax);
  if (name === 'cosine') return cosineSchedule();
  if (name.trim() === '') throw new UsageError(`--schedule: expected linear, cosine or an expression in t, got an empty string`);
  return expressionSchedule(name);
}
