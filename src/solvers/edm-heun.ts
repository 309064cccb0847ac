import * as tf from '@tensorflow/tfjs';
import { OptionError, type OptionsOf, type Schema } from '../options/schema.js';
import type { ScoreFn, SDE } from '../sde/types.js';
import { time, transition } from './common.js';
import { sigmaAt, timeAtSigma } from './grids.js';
import { defineSolver, type StepContext, type Stepper } from './types.js';

const EDM_HEUN_OPTIONS = {
  churn: { type: 'number', min: 0, default: 0, doc: 'edm-heun: stochastic churn S_churn (0: deterministic); gamma_i = min(churn/steps, sqrt(2) - 1)' },
  sTmin: { type: 'number', min: 0, default: 0, doc: 'edm-heun: churn only at noise levels sigma_i >= sTmin' },
  sTmax: { type: 'number', above: 0, doc: 'edm-heun: churn only at noise levels sigma_i <= sTmax (default: no bound)' },
  sNoise: { type: 'number', min: 0, default: 1, doc: 'edm-heun: scale S_noise of the churn noise' },
} as const satisfies Schema;

type EdmHeunOptions = OptionsOf<typeof EDM_HEUN_OPTIONS>;

/**
 * One Heun step in sigma = std/mean (Karras et al. 2022, Algorithm 1) from time t to tNext on the
 * probability-flow ODE in the scaled variable x^ = x / mean(t):
 *   dx^/dsigma = (x^ - D(x^; sigma)) / sigma = -std(t) s(x, t),
 * with D Tweedie's denoiser (x + std^2 s) / mean (the two forms are equal; the score form has no
 * cancellation). With h = sigma' - sigma, d1 = -std s(x, t), x~ = mean' (x^ + h d1),
 * d2 = -std' s(x~, t'), it returns x' = mean' (x^ + h (d1 + d2) / 2). Two NFE.
 */
export function edmHeunStep(sde: SDE, score: ScoreFn, x: tf.Tensor, t: number, tNext: number): tf.Tensor {
  const a = sde.marginalAt(t);
  const b = sde.marginalAt(tNext);
  const h = b.std / b.mean - a.std / a.mean;
  const scaled = tf.mul(x, b.mean / a.mean); // mean' x^
  const d1 = tf.mul(score(x, time(t)), -a.std);
  const euler = tf.add(scaled, tf.mul(d1, b.mean * h));
  const d2 = tf.mul(score(euler, time(tNext)), -b.std);
  return tf.add(scaled, tf.mul(tf.add(d1, d2), (b.mean * h) / 2));
}

/** Where step i starts after churn: the time of sigma^_i and the forward transition from t_i to it (none: no churn at step i). */
interface Churned {
  t: number;
  jump?: { r: number; v: number };
}

/**
 * The churned start of every step (Karras et al. 2022, Algorithm 2): gamma_i = min(churn/N,
 * sqrt(2) - 1) where sigma_i lies in [sTmin, sTmax] (else 0) and sigma^_i = sigma_i (1 + gamma_i),
 * clamped to sigma(T) (the score is defined up to T only, so the first step never churns). Adding
 * sqrt(sigma^_i^2 - sigma_i^2) S_noise z to x^ is the forward transition from t_i to the time of
 * sigma^_i, x' = r x + sqrt(v) S_noise z (common.ts transition), computed on the host once.
 */
function churnedStarts(sde: SDE, times: Float64Array, o: EdmHeunOptions): Churned[] {
  const N = times.length - 1;
  const gammaMax = Math.min((o.churn ?? 0) / N, Math.SQRT2 - 1);
  const sigmaMax = sigmaAt(sde, sde.T);
  return Array.from({ length: N }, (_v, i) => {
    const sigma = sigmaAt(sde, times[i]);
    const gamma = sigma >= (o.sTmin ?? 0) && sigma <= (o.sTmax ?? Infinity) ? gammaMax : 0;
    const sigmaHat = Math.min(sigma * (1 + gamma), sigmaMax);
    if (!(sigmaHat > sigma)) return { t: times[i] };
    const t = sigmaHat === sigmaMax ? sde.T : timeAtSigma(sde, sigmaHat);
    return t > times[i] ? { t, jump: transition(sde, times[i], t) } : { t: times[i] };
  });
}

/**
 * EDM's sampler on a grid t_0 = T > ... > t_N = eps: step i churns x (see churnedStarts; one draw,
 * stage 0, standing for the step's interval [t_i, t_{i+1}] so that Brownian noise stays
 * independent across steps) and then takes one edmHeunStep from the churned time to t_{i+1}.
 */
function edmHeunStepper(ctx: StepContext<EdmHeunOptions>, times: Float64Array): Stepper {
  const { sde, score } = ctx;
  const starts = churnedStarts(sde, times, ctx.options);
  const sNoise = ctx.options.sNoise ?? 1;
  return {
    times,
    step: (x, i) => {
      const { t, jump } = starts[i];
      if (!jump) return edmHeunStep(sde, score, x, t, times[i + 1]);
      const scaled = tf.mul(x, jump.r);
      const churned = sNoise > 0 ? tf.add(scaled, tf.mul(ctx.noise(x.shape, i, 0, { from: times[i], to: times[i + 1] }), Math.sqrt(jump.v) * sNoise)) : scaled;
      return edmHeunStep(sde, score, churned, t, times[i + 1]);
    },
  };
}

/**
 * edm-heun: Karras et al. (2022) Algorithm 2 on the Karras grid. Every grid step, the last one
 * to eps included, is a Heun step (2N NFE); the final Euler step of EDM to sigma = 0 is exactly
 * Tweedie's denoiser, which is the common `denoise` option (+1 NFE). So `--steps N --denoise` is
 * EDM's sampler with N + 1 noise levels sigma(T) .. sigma(eps) followed by 0 (2N + 1 NFE).
 */
export const edmHeun = defineSolver({
  info: {
    name: 'edm-heun', kind: 'ode', order: 2, adaptive: false, defaultSteps: 18, defaultGrid: 'karras',
    description: "EDM's Heun sampler in sigma = std/mean (Karras et al. 2022), optional churn; --denoise is its last Euler step to sigma = 0",
  },
  options: EDM_HEUN_OPTIONS,
  nfe: ({ steps }) => 2 * steps,
  check: (_sde, o) => {
    if (o.sTmax !== undefined && (o.sTmin ?? 0) > o.sTmax) throw new OptionError('sTmin', `expected a noise level at most --s-tmax (${o.sTmax}), got ${o.sTmin}`);
  },
  create: (ctx, { grid }) => edmHeunStepper(ctx, grid!),
});
