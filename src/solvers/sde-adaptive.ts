import * as tf from '@tensorflow/tfjs';
import { choice, type Schema } from '../options/schema.js';
import { driftCoefficients, REVERSE_SDE } from '../sde/reverse.js';
import { time } from './common.js';
import { SavedPath } from './saved-path.js';
import { defineSolver, type AdaptiveRun, type StepContext } from './types.js';

/** Defaults: the tolerances, h_init, theta and r of Jolicoeur-Martineau et al. (2021); the batch norm; the cap on attempts. */
export const SDE_ADAPTIVE_DEFAULTS = { rtol: 1e-2, atol: 1e-2, firstStep: 0.01, safety: 0.9, errorExponent: 0.9, errorNorm: 'rms', maxSteps: 100_000 } as const;

/** How the per-sample errors E_i of a batch combine into the one error that accepts or rejects the batch's step. */
export const ERROR_NORMS = ['rms', 'max'] as const;

const SDE_ADAPTIVE_OPTIONS = {
  rtol: { type: 'number', above: 0, default: SDE_ADAPTIVE_DEFAULTS.rtol, doc: 'sde-adaptive: relative tolerance' },
  atol: { type: 'number', above: 0, default: SDE_ADAPTIVE_DEFAULTS.atol, doc: 'sde-adaptive: absolute tolerance' },
  firstStep: { type: 'number', above: 0, default: SDE_ADAPTIVE_DEFAULTS.firstStep, doc: 'sde-adaptive: first trial step h_init' },
  safety: { type: 'number', min: 0.1, max: 1, default: SDE_ADAPTIVE_DEFAULTS.safety, doc: "sde-adaptive: safety factor theta of the step update h' = theta h E^-r" },
  errorExponent: { type: 'number', above: 0, default: SDE_ADAPTIVE_DEFAULTS.errorExponent, doc: "sde-adaptive: exponent r of the step update h' = theta h E^-r" },
  errorNorm: choice(ERROR_NORMS, {
    default: SDE_ADAPTIVE_DEFAULTS.errorNorm,
    doc: 'sde-adaptive: error of the batch: rms of the per-sample errors (the scaled L2 norm over the whole batch) or their max (every sample within tolerance: more steps, more so with more samples)',
  }),
  maxSteps: { type: 'number', integer: true, min: 1, default: SDE_ADAPTIVE_DEFAULTS.maxSteps, doc: 'sde-adaptive: cap on attempted steps' },
} as const satisfies Schema;

/** The step-control settings of one run, defaults filled in. */
interface Control {
  rtol: number;
  atol: number;
  safety: number;
  exponent: number;
  norm: (typeof ERROR_NORMS)[number];
  maxSteps: number;
}

/**
 * One stage increment of the reverse SDE (drift F = a x - g^2 s) over a step h from time t:
 * K = -h F(x, t) + g(t) sqrt(h) z = (-h a) x + (h g^2) s(x, t) + (g sqrt(h)) z.
 */
function increment(ctx: StepContext, x: tf.Tensor, z: tf.Tensor, t: number, h: number): tf.Tensor {
  const c = driftCoefficients(ctx.sde, t, REVERSE_SDE);
  return tf.addN([tf.mul(x, -h * c.x), tf.mul(ctx.score(x, time(t)), -h * c.score), tf.mul(z, ctx.sde.diffusionAt(t) * Math.sqrt(h))]);
}

/** Both solutions of one trial step and the batch's error (a scalar tensor). */
interface Trial {
  low: tf.Tensor;
  high: tf.Tensor;
  err: tf.Tensor;
}

/**
 * One trial step from t to t - h (2 NFE) in one tf.tidy, with one normal draw z for the interval
 * [t, t - h]: Euler-Maruyama x' = x + K1 and stochastic improved Euler x'' = x + (K1 + K2)/2, with
 * K1 = -h F(x, t) + g(t) sqrt(h) z and K2 = -h F(x', t - h) + g(t - h) sqrt(h) z; so
 * x' - x'' = (K1 - K2)/2. The per-sample error is E_i = ||(x' - x'')_i / delta_i||_2 / sqrt(D)
 * (D elements a sample) with the mixed tolerance delta = max(atol, rtol max(|x'|, |x'_prev|))
 * elementwise, x'_prev the Euler-Maruyama solution of the last accepted step; the batch's error is
 * sqrt(mean_i E_i^2) ('rms') or max_i E_i ('max').
 */
function trialStep(ctx: StepContext, c: Control, x: tf.Tensor, xPrev: tf.Tensor, t: number, h: number, step: number): Trial {
  return tf.tidy(() => {
    const z = ctx.noise(x.shape, step, 0, { from: t, to: t - h });
    const k1 = increment(ctx, x, z, t, h);
    const low = tf.add(x, k1);
    const k2 = increment(ctx, low, z, t - h, h);
    const high = tf.add(x, tf.mul(tf.add(k1, k2), 0.5));
    const delta = tf.maximum(tf.mul(tf.maximum(tf.abs(low), tf.abs(xPrev)), c.rtol), c.atol);
    const squares = tf.square(tf.div(tf.mul(tf.sub(k1, k2), 0.5), delta)).reshape([x.shape[0], -1]);
    const err = c.norm === 'rms' ? tf.sqrt(tf.mean(squares)) : tf.sqrt(tf.max(tf.mean(squares, 1)));
    return { low, high, err };
  });
}

/** The live state of a run: time, proposed step, the state x, the last accepted Euler-Maruyama solution x'_prev, and the counts. */
interface RunState {
  t: number;
  h: number;
  x: tf.Tensor;
  xPrev: tf.Tensor;
  accepted: number;
  rejected: number;
}

/**
 * Accepts a trial at time t: x = x'' (the extrapolated solution) mapped by afterStep when given,
 * x'_prev = x'; the previous x is disposed unless it is the caller's x0. Saves when due, reports to onStep.
 */
function acceptTrial(ctx: StepContext, s: RunState, trial: Trial, t: number, saves: SavedPath, release: (x: tf.Tensor) => void): void {
  s.accepted++;
  s.t = t;
  release(s.x);
  s.xPrev.dispose();
  s.xPrev = trial.low;
  s.x = trial.high;
  if (ctx.afterStep) {
    s.x = tf.tidy(() => ctx.afterStep!(trial.high, t, s.accepted));
    trial.high.dispose();
  }
  saves.saveIfDue(s.x, t);
  ctx.options.onStep?.(s.accepted, t);
}

/**
 * The adaptive loop from T (state x0) down to tEnd, landing exactly on each save time: per
 * attempt, one read of the batch's error E; accept when E <= 1; then h = min(t - tEnd, theta h E^-r).
 * x0 is disposed only when `ownsX0`; the result's x is always a tensor the caller owns.
 */
function adaptiveLoop(ctx: StepContext, c: Control, x0: tf.Tensor, tEnd: number, firstStep: number, saveAt: readonly number[] | 'all', ownsX0: boolean): AdaptiveRun {
  const T = ctx.sde.T;
  const saves = new SavedPath(saveAt, -1);
  const s: RunState = { t: T, h: Math.min(firstStep, T - tEnd), x: x0, xPrev: tf.clone(x0), accepted: 0, rejected: 0 };
  const release = (x: tf.Tensor) => {
    if (x !== x0 || ownsX0) x.dispose();
  };
  saves.saveIfDue(x0, T);
  try {
    while (s.t > tEnd) {
      if (s.accepted + s.rejected >= c.maxSteps) throw new Error(`sde-adaptive: more than ${c.maxSteps} attempted steps (rtol ${c.rtol}, atol ${c.atol}); loosen the tolerances`);
      const stop = saves.stopBefore(tEnd);
      const land = s.h >= (s.t - stop) * (1 - 1e-9);
      const h = land ? s.t - stop : s.h;
      if (!(h > 1e-14 * T)) throw new Error(`sde-adaptive: step size underflow at t = ${s.t}`);
      const trial = trialStep(ctx, c, s.x, s.xPrev, s.t, h, s.accepted + s.rejected);
      const e = trial.err.dataSync()[0];
      trial.err.dispose();
      if (e <= 1) {
        acceptTrial(ctx, s, trial, land ? stop : s.t - h, saves, release);
      } else {
        tf.dispose([trial.low, trial.high]);
        if (!Number.isFinite(e)) throw new Error(`sde-adaptive: non-finite error estimate at t = ${s.t}`);
        s.rejected++;
      }
      s.h = e > 0 ? Math.min(s.t - tEnd, c.safety * h * e ** -c.exponent) : s.t - tEnd;
    }
  } catch (err) {
    release(s.x);
    tf.dispose(saves.path);
    throw err;
  } finally {
    s.xPrev.dispose();
  }
  return { x: s.x === x0 && !ownsX0 ? tf.clone(x0) : s.x, accepted: s.accepted, rejected: s.rejected, path: saves.path, times: saves.times };
}

/**
 * sde-adaptive: the adaptive SDE solver of Jolicoeur-Martineau et al. (2021, Algorithm 1) on the
 * reverse SDE dx = [a(t) x - g(t)^2 s(x, t)] dt + g(t) dW-bar from T down to eps. Each attempt from
 * t to t - h pairs Euler-Maruyama x' with the stochastic improved Euler x'' from the same draw
 * (2 NFE), accepts when the batch's error E <= 1 (see trialStep: the paper's scaled L2 error with
 * its mixed tolerance, combined over the batch by `errorNorm`), keeps x'' (extrapolation) and sets
 * h <- min(t - eps, theta h E^-r). The batch shares t and h (unlike the paper's per-sample steps:
 * in low dimension a sample's own error is dominated by its own noise draw, and accepting on it
 * biases the samples). Steps land exactly on the save times; afterStep maps each accepted state.
 * accepted + rejected = attempts, NFE = 2 (accepted + rejected) batched score calls.
 */
export const sdeAdaptive = defineSolver({
  info: {
    name: 'sde-adaptive', kind: 'sde', order: 2, adaptive: true, defaultSteps: 0, defaultGrid: 'uniform',
    description: 'adaptive Euler-Maruyama / stochastic improved Euler pair on the reverse-time SDE (Jolicoeur-Martineau et al. 2021; rtol = atol = 1e-2)',
  },
  options: SDE_ADAPTIVE_OPTIONS,
  run: (ctx, x0, tEnd, saveAt, ownsX0) => {
    const o = ctx.options;
    const control: Control = {
      rtol: o.rtol ?? SDE_ADAPTIVE_DEFAULTS.rtol,
      atol: o.atol ?? SDE_ADAPTIVE_DEFAULTS.atol,
      safety: o.safety ?? SDE_ADAPTIVE_DEFAULTS.safety,
      exponent: o.errorExponent ?? SDE_ADAPTIVE_DEFAULTS.errorExponent,
      norm: o.errorNorm ?? SDE_ADAPTIVE_DEFAULTS.errorNorm,
      maxSteps: o.maxSteps ?? SDE_ADAPTIVE_DEFAULTS.maxSteps,
    };
    return adaptiveLoop(ctx, control, x0, tEnd, o.firstStep ?? SDE_ADAPTIVE_DEFAULTS.firstStep, saveAt, ownsX0);
  },
});
