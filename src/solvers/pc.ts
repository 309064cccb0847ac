import * as tf from '@tensorflow/tfjs';
import { choice, type OptionsOf, type Schema } from '../options/schema.js';
import { sumPerSample } from '../tensor/dims.js';
import { time, transition } from './common.js';
import { eulerMaruyamaStep } from './euler-maruyama.js';
import { reverseDiffusionStep } from './reverse-diffusion.js';
import { defineSolver, type StepContext, type Stepper } from './types.js';

export const DEFAULT_SNR = 0.16;
export const DEFAULT_CORRECTOR_STEPS = 1;

const PC_OPTIONS = {
  snr: { type: 'number', above: 0, default: DEFAULT_SNR, doc: 'pc: Langevin corrector signal-to-noise ratio' },
  correctorSteps: { type: 'number', integer: true, min: 0, default: DEFAULT_CORRECTOR_STEPS, doc: 'pc: corrector steps per time' },
  predictor: choice(['reverse-diffusion', 'euler-maruyama'], { default: 'reverse-diffusion', doc: 'pc: the predictor step' }),
} as const satisfies Schema;

/** Batch mean of the per-sample L2 norms: a scalar tensor. */
function meanNorm(v: tf.Tensor): tf.Tensor {
  return tf.mean(tf.sqrt(sumPerSample(tf.square(v))));
}

/**
 * One Langevin corrector step at time t (Song et al. 2021, Algorithm 5):
 * e = 2 alpha (snr |z| / |s|)^2 with batch-mean norms, x' = x + e s(x, t) + sqrt(2 e) z;
 * alpha = mean(t)^2/mean(t')^2 (= 1 - beta_i) on VP, 1 otherwise.
 */
export function langevinStep(ctx: StepContext, x: tf.Tensor, t: number, alpha: number, snr: number, step: number, stage: number): tf.Tensor {
  const grad = ctx.score(x, time(t));
  const z = ctx.noise(x.shape, step, stage);
  // The floor keeps a vanishing score (x exactly at a mode) from giving 0/0.
  const ratio = tf.div(tf.mul(meanNorm(z), snr), tf.maximum(meanNorm(grad), 1e-12));
  const e = tf.mul(tf.square(ratio), 2 * alpha);
  return tf.add(tf.add(x, tf.mul(e, grad)), tf.mul(tf.sqrt(tf.mul(e, 2)), z));
}

/**
 * Predictor-corrector sampling: at each grid time, `correctorSteps` Langevin steps, then one
 * predictor step (reverse-diffusion or Euler-Maruyama) to the next time, like score_sde's
 * pc_sampler. NFE per step: 1 + correctorSteps.
 */
function predictorCorrectorStepper(ctx: StepContext<OptionsOf<typeof PC_OPTIONS>>, times: Float64Array): Stepper {
  const snr = ctx.options.snr ?? DEFAULT_SNR;
  const M = ctx.options.correctorSteps ?? DEFAULT_CORRECTOR_STEPS;
  const predict = ctx.options.predictor === 'euler-maruyama' ? eulerMaruyamaStep : reverseDiffusionStep;
  return {
    times,
    step: (x, i) => {
      const t = times[i];
      const alpha = ctx.sde.name === 'vp' ? transition(ctx.sde, times[i + 1], t).r ** 2 : 1;
      let y = x;
      for (let j = 0; j < M; j++) y = langevinStep(ctx, y, t, alpha, snr, i, j);
      return predict(ctx, y, t, times[i + 1], i, M);
    },
  };
}

/** The pc solver. */
export const predictorCorrector = defineSolver({
  info: {
    name: 'pc', kind: 'sde', order: 1, adaptive: false, defaultSteps: 250, defaultGrid: 'uniform',
    description: 'predictor-corrector: reverse-diffusion predictor and Langevin corrector (snr 0.16, 1 corrector step)',
  },
  options: PC_OPTIONS,
  nfe: ({ steps, correctorSteps }) => steps * (1 + (correctorSteps ?? DEFAULT_CORRECTOR_STEPS)),
  create: (ctx, { grid }) => predictorCorrectorStepper(ctx, grid!),
});
