import * as tf from '@tensorflow/tfjs';
import type { OptionsOf, Schema } from '../options/schema.js';
import type { ScoreFn, SDE } from '../sde/types.js';
import { time } from './common.js';
import { logSnrAt, timeAtLogSnr } from './grids.js';
import { defineSolver, type StepContext, type Stepper } from './types.js';

export const DEFAULT_DPM_ORDER = 3;

const DPM_SOLVER_OPTIONS = { order: { type: 'number', oneOf: [2, 3], default: DEFAULT_DPM_ORDER, doc: 'dpm-solver: order 2 or 3' } } as const satisfies Schema;

/** Noise prediction from the score at a host time: eps(x, t) = -std(t) s(x, t). */
function epsAt(sde: SDE, score: ScoreFn, x: tf.Tensor, t: number): tf.Tensor {
  return tf.mul(score(x, time(t)), -sde.marginalAt(t).std);
}

/**
 * Singlestep DPM-Solver (Lu et al. 2022) in log-SNR time lambda = log(alpha/sigma), with
 * alpha = mean(t), sigma = std(t), h = lambda(t') - lambda(t) and intermediate times
 * s_j = t(lambda(t) + r_j h) by float64 bisection.
 * Order 2 (r1 = 1/2): u = (alpha_s1/alpha_t) x - sigma_s1 (e^{h/2} - 1) eps(x, t),
 *   x' = (alpha_t'/alpha_t) x - sigma_t' (e^h - 1) eps(u, s1).
 * Order 3 (r1 = 1/3, r2 = 2/3): u1 = (alpha_s1/alpha_t) x - sigma_s1 (e^{r1 h} - 1) eps_t,
 *   D1 = eps(u1, s1) - eps_t,
 *   u2 = (alpha_s2/alpha_t) x - sigma_s2 (e^{r2 h} - 1) eps_t - sigma_s2 r2/r1 ((e^{r2 h} - 1)/(r2 h) - 1) D1,
 *   D2 = eps(u2, s2) - eps_t,
 *   x' = (alpha_t'/alpha_t) x - sigma_t' (e^h - 1) eps_t - sigma_t'/r2 ((e^h - 1)/h - 1) D2.
 * `order` NFE per step.
 */
function dpmSolverStepper(ctx: StepContext<OptionsOf<typeof DPM_SOLVER_OPTIONS>>, times: Float64Array): Stepper {
  const order = ctx.options.order ?? DEFAULT_DPM_ORDER;
  const { sde, score } = ctx;
  const m = (t: number) => sde.marginalAt(t);
  return {
    times,
    step: (x, i) => {
      const t = times[i];
      const tn = times[i + 1];
      const lt = logSnrAt(sde, t);
      const h = logSnrAt(sde, tn) - lt;
      const a = m(t);
      const b = m(tn);
      const e0 = epsAt(sde, score, x, t);
      if (order === 2) {
        const s1 = timeAtLogSnr(sde, lt + 0.5 * h);
        const c1 = m(s1);
        const u = tf.sub(tf.mul(x, c1.mean / a.mean), tf.mul(e0, c1.std * Math.expm1(0.5 * h)));
        const e1 = epsAt(sde, score, u, s1);
        return tf.sub(tf.mul(x, b.mean / a.mean), tf.mul(e1, b.std * Math.expm1(h)));
      }
      const r1 = 1 / 3;
      const r2 = 2 / 3;
      const s1 = timeAtLogSnr(sde, lt + r1 * h);
      const s2 = timeAtLogSnr(sde, lt + r2 * h);
      const c1 = m(s1);
      const c2 = m(s2);
      const u1 = tf.sub(tf.mul(x, c1.mean / a.mean), tf.mul(e0, c1.std * Math.expm1(r1 * h)));
      const d1 = tf.sub(epsAt(sde, score, u1, s1), e0);
      const phi2 = Math.expm1(r2 * h);
      const u2 = tf.sub(
        tf.sub(tf.mul(x, c2.mean / a.mean), tf.mul(e0, c2.std * phi2)),
        tf.mul(d1, ((c2.std * r2) / r1) * (phi2 / (r2 * h) - 1)),
      );
      const d2 = tf.sub(epsAt(sde, score, u2, s2), e0);
      const phi = Math.expm1(h);
      return tf.sub(tf.sub(tf.mul(x, b.mean / a.mean), tf.mul(e0, b.std * phi)), tf.mul(d2, (b.std / r2) * (phi / h - 1)));
    },
  };
}

/** The singlestep dpm-solver. */
export const dpmSolver = defineSolver({
  info: {
    name: 'dpm-solver', kind: 'ode', order: 3, adaptive: false, defaultSteps: 6, defaultGrid: 'quadratic',
    description: 'singlestep DPM-Solver-3 (or -2) in log-SNR time (Lu et al. 2022)',
  },
  options: DPM_SOLVER_OPTIONS,
  nfe: ({ steps, order }) => steps * (order ?? DEFAULT_DPM_ORDER),
  create: (ctx, { grid }) => dpmSolverStepper(ctx, grid!),
});
