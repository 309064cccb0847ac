import * as tf from '@tensorflow/tfjs';
import { PROBABILITY_FLOW } from '../sde/reverse.js';
import { reverseTimeDrift } from './common.js';
import { SavedPath } from './saved-path.js';
import { defineSolver, type AdaptiveRun } from './types.js';

export const DEFAULT_RTOL = 1e-5;
export const DEFAULT_ATOL = 1e-5;
export const DEFAULT_MAX_STEPS = 100_000;

// Dormand-Prince 5(4) tableau (Dormand & Prince 1980).
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1];
const A = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
];
/** 5th-order weights (also the 7th stage's row, first same as last). */
const B = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84];
/** b - b*: the 5th minus the embedded 4th-order weights, stages 1..7. */
const E = [71 / 57600, 0, -71 / 16695, 71 / 1920, -17253 / 339200, 22 / 525, -1 / 40];

/** Weighted sum sum_j w_j k_j over the non-zero weights. */
function combine(ks: tf.Tensor[], w: readonly number[]): tf.Tensor {
  let acc: tf.Tensor | undefined;
  ks.forEach((k, j) => {
    if (w[j] === 0 || j >= w.length) return;
    const term = tf.mul(k, w[j]);
    acc = acc ? tf.add(acc, term) : term;
  });
  return acc!;
}

/** The right-hand side of dx/dt = F(x, t) at a host time; called inside tf.tidy, it must not dispose x. */
export type OdeFunction = (x: tf.Tensor, t: number) => tf.Tensor;

/** Settings of the adaptive Dormand-Prince integrator. */
export interface DormandPrinceOptions {
  /** Relative and absolute tolerances (default 1e-5 each). */
  rtol?: number;
  atol?: number;
  /** First trial step size (default |t1 - t0| / 100), largest step size (default none), cap on attempted steps (default 100000). */
  firstStep?: number;
  maxStep?: number;
  maxSteps?: number;
  /** Times to save the state at, in any order ('all': every accepted step); the integrator steps onto each exactly. */
  saveTimes?: readonly number[] | 'all';
  /** Called after each accepted step with the accepted count and the time reached. */
  onStep?: (accepted: number, t: number) => void;
  /** Name used in error messages (default 'ode-rk45'). */
  label?: string;
  /**
   * A map of each accepted state (imputation's replacement of known coordinates), applied before
   * it is saved; F is then re-evaluated there (one more evaluation per accepted step).
   */
  afterStep?: (x: tf.Tensor, t: number, accepted: number) => tf.Tensor;
}

/** The 5th-order proposal of one Dormand-Prince step, its last stage k7 = F(x', t + h) and the error norm (a scalar tensor). */
interface TrialStep {
  xNew: tf.Tensor;
  k7: tf.Tensor;
  err: tf.Tensor;
}

/**
 * One Dormand-Prince 5(4) step of signed size h from (x, t) with first stage k1 = F(x, t), in one
 * tf.tidy: k_s = F(x + h sum_j a_sj k_j, t + c_s h) for s = 2..6, x' = x + h sum_j b_j k_j,
 * k7 = F(x', t + h) and err = sqrt(mean((h sum_j e_j k_j / (atol + rtol max(|x|, |x'|)))^2)).
 */
function trialStep(F: OdeFunction, x: tf.Tensor, k1: tf.Tensor, t: number, h: number, rtol: number, atol: number): TrialStep {
  return tf.tidy(() => {
    const ks = [k1];
    for (let s = 1; s < 6; s++) ks.push(F(tf.add(x, tf.mul(combine(ks, A[s]), h)), t + C[s] * h));
    const xNew = tf.add(x, tf.mul(combine(ks, B), h));
    const k7 = F(xNew, t + h);
    ks.push(k7);
    const e = tf.mul(combine(ks, E), h);
    const sc = tf.add(atol, tf.mul(rtol, tf.maximum(tf.abs(x), tf.abs(xNew))));
    const err = tf.sqrt(tf.mean(tf.square(tf.div(e, sc))));
    return { xNew, k7, err };
  });
}

/** The step-size factor clamp(0.9 err^(-1/5), 0.2, max) (max when err = 0): max = 10 after an accepted step, 1 after a rejected one. */
function stepFactor(errNorm: number, max: number): number {
  return errNorm === 0 ? max : Math.min(max, Math.max(0.2, 0.9 * errNorm ** -0.2));
}

/**
 * The next trial step size after an accepted step of size `taken` (the proposal was `proposed`):
 * taken * stepFactor(err, 10); a step shortened to land on a stop keeps the previous proposal
 * when it was larger (at most 10 taken); capped at maxStep.
 */
function stepAfterAccept(taken: number, proposed: number, landed: boolean, errNorm: number, maxStep: number): number {
  return Math.min(Math.max(taken * stepFactor(errNorm, 10), landed ? Math.min(proposed, taken * 10) : 0), maxStep);
}

/** The live state of a Dormand-Prince run: the time, x, its stage k1 = F(x, t), the trial step size and the step counts. */
interface RunState {
  t: number;
  x: tf.Tensor;
  k1: tf.Tensor;
  h: number;
  accepted: number;
  rejected: number;
}

/**
 * Accepts a trial step: the state moves to (xNew, k7) at time t (the previous x is disposed
 * unless it is the caller's x0), mapped by afterStep when given (then k1 = F(mapped, t), one
 * more evaluation), saved when due and reported to onStep.
 */
function acceptStep(F: OdeFunction, s: RunState, trial: TrialStep, t: number, x0: tf.Tensor, ownsX0: boolean, saved: SavedPath, options: DormandPrinceOptions): void {
  s.accepted++;
  s.t = t;
  if (s.x !== x0 || ownsX0) s.x.dispose();
  s.k1.dispose();
  s.x = trial.xNew;
  s.k1 = trial.k7;
  if (options.afterStep) {
    const mapped = tf.tidy(() => options.afterStep!(trial.xNew, t, s.accepted));
    tf.dispose([trial.xNew, trial.k7]);
    s.x = mapped;
    s.k1 = tf.tidy(() => F(mapped, t));
  }
  saved.saveIfDue(s.x, t);
  options.onStep?.(s.accepted, t);
}

/**
 * Adaptive Dormand-Prince 5(4) for dx/dt = F(x, t) on one tensor state from t0 to t1 (either
 * direction), with local extrapolation (the 5th-order solution is kept) and first-same-as-last
 * (6 evaluations of F per attempted step, 1 more at the start). With h the signed step,
 * x' = x + h sum_j b_j k_j, and the error norm (the one scalar read back per step)
 * err = sqrt(mean((h sum_j e_j k_j / (atol + rtol max(|x|, |x'|)))^2)) over all elements;
 * a step is accepted when err <= 1, and the next step size is |h| clamp(0.9 err^(-1/5), 0.2, 10)
 * (at most |h| after a rejection), capped at maxStep. Steps are shortened to land exactly on the
 * save times; each step runs in tf.tidy with one live x and the stage k1.
 * x0 is disposed only when `ownsX0`; the result's x is always a tensor the caller owns.
 */
export function dormandPrince(F: OdeFunction, x0: tf.Tensor, t0: number, t1: number, options: DormandPrinceOptions = {}, ownsX0 = false): AdaptiveRun {
  const rtol = options.rtol ?? DEFAULT_RTOL;
  const atol = options.atol ?? DEFAULT_ATOL;
  const maxSteps = options.maxSteps ?? DEFAULT_MAX_STEPS;
  const maxStep = options.maxStep ?? Infinity;
  const label = options.label ?? 'ode-rk45';
  const dir = t1 >= t0 ? 1 : -1;
  const scale = Math.max(Math.abs(t0), Math.abs(t1));
  const saved = new SavedPath(options.saveTimes ?? [], dir);
  const s: RunState = { t: t0, x: x0, k1: tf.tidy(() => F(x0, t0)), h: Math.min(options.firstStep ?? Math.abs(t1 - t0) / 100, maxStep), accepted: 0, rejected: 0 };
  saved.saveIfDue(x0, t0);
  try {
    while (dir * (t1 - s.t) > 0) {
      if (s.accepted + s.rejected >= maxSteps) throw new Error(`${label}: more than ${maxSteps} steps (rtol ${rtol}, atol ${atol}); loosen the tolerances`);
      const stop = saved.stopBefore(t1);
      const land = s.h >= dir * (stop - s.t) * (1 - 1e-9);
      const hh = land ? dir * (stop - s.t) : s.h;
      if (!(hh > 1e-14 * scale)) throw new Error(`${label}: step size underflow at t = ${s.t}`);
      const trial = trialStep(F, s.x, s.k1, s.t, dir * hh, rtol, atol);
      const errNorm = trial.err.dataSync()[0];
      trial.err.dispose();
      if (errNorm <= 1 && Number.isFinite(errNorm)) {
        acceptStep(F, s, trial, land ? stop : s.t + dir * hh, x0, ownsX0, saved, options);
        s.h = stepAfterAccept(hh, s.h, land, errNorm, maxStep);
      } else {
        tf.dispose([trial.xNew, trial.k7]);
        if (!Number.isFinite(errNorm)) throw new Error(`${label}: non-finite error estimate at t = ${s.t}`);
        s.rejected++;
        s.h = hh * stepFactor(errNorm, 1);
      }
    }
  } catch (e) {
    if (s.x !== x0) s.x.dispose();
    tf.dispose(saved.path);
    throw e;
  } finally {
    s.k1.dispose();
    if (ownsX0 && s.x !== x0 && !x0.isDisposed) x0.dispose();
  }
  return { x: s.x === x0 && !ownsX0 ? tf.clone(x0) : s.x, accepted: s.accepted, rejected: s.rejected, path: saved.path, times: saved.times };
}

/**
 * ode-rk45: dormandPrince on the probability-flow ODE dx/dt = f(x, t) - 1/2 g(t)^2 s(x, t)
 * from T down to `tEnd`, with the tolerances, step limits and progress callback of ctx.options.
 * Steps land exactly on the `saveTimes`; 'all' saves every accepted step. x0 is disposed only when `ownsX0`.
 */
export const rk45 = defineSolver({
  info: {
    name: 'ode-rk45', kind: 'ode', order: 5, adaptive: true, defaultSteps: 0, defaultGrid: 'uniform',
    description: 'adaptive Dormand-Prince 5(4) on the probability-flow ODE (rtol = atol = 1e-5)',
  },
  options: {
    rtol: { type: 'number', above: 0, default: DEFAULT_RTOL, doc: 'ode-rk45: relative tolerance' },
    atol: { type: 'number', above: 0, default: DEFAULT_ATOL, doc: 'ode-rk45: absolute tolerance' },
    firstStep: { type: 'number', above: 0, doc: 'ode-rk45: first trial step (default (T - eps)/100)' },
    maxStep: { type: 'number', above: 0, doc: 'ode-rk45: largest step (default: none)' },
    maxSteps: { type: 'number', integer: true, min: 1, default: DEFAULT_MAX_STEPS, doc: 'ode-rk45: cap on attempted steps' },
  },
  run: (ctx, x0, tEnd, saveTimes, ownsX0) => {
    const { sde, score, options } = ctx;
    return dormandPrince((x, t) => reverseTimeDrift(sde, score, x, t, PROBABILITY_FLOW), x0, sde.T, tEnd, {
      rtol: options.rtol,
      atol: options.atol,
      firstStep: options.firstStep,
      maxStep: options.maxStep,
      maxSteps: options.maxSteps,
      saveTimes,
      onStep: options.onStep,
      afterStep: ctx.afterStep,
    }, ownsX0);
  },
});
