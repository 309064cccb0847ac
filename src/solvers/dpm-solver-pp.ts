import * as tf from '@tensorflow/tfjs';
import { tweedie } from './common.js';
import { logSnrAt } from './grids.js';
import { defineSolver, type StepContext, type Stepper } from './types.js';

/**
 * Multistep DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2) in log-SNR time
 * lambda = log(alpha/sigma) with alpha = mean(t), sigma = std(t), on the data prediction
 * D(x, t) = (x + sigma^2 s(x, t)) / alpha (Tweedie). With h_i = lambda_{i+1} - lambda_i:
 *   x_{i+1} = (sigma_{i+1}/sigma_i) x_i - alpha_{i+1} (e^{-h_i} - 1) D_i'
 * where D_i' = D_i on the first step (DPM-Solver++1, i.e. DDIM) and afterwards
 *   D_i' = (1 + 1/(2 r_i)) D_i - 1/(2 r_i) D_{i-1},  r_i = h_{i-1} / h_i.
 * One NFE per step (the previous D is reused), second order in the step.
 * The stepper keeps the latest D past each step's tf.tidy; dispose() frees it after the run.
 */
function dpmSolverPlusPlusStepper(ctx: StepContext, times: Float64Array): Stepper {
  const { sde, score } = ctx;
  const lambdas = Float64Array.from(times, (t) => logSnrAt(sde, t));
  let previous: tf.Tensor | undefined;
  const forget = () => {
    previous?.dispose();
    previous = undefined;
  };
  return {
    times,
    step: (x, i) => {
      const a = sde.marginalAt(times[i]);
      const b = sde.marginalAt(times[i + 1]);
      const h = lambdas[i + 1] - lambdas[i];
      const denoised = tweedie(sde, score, x, times[i]);
      let d = denoised;
      if (previous !== undefined) {
        const r = (lambdas[i] - lambdas[i - 1]) / h;
        d = tf.sub(tf.mul(denoised, 1 + 1 / (2 * r)), tf.mul(previous, 1 / (2 * r)));
      }
      const next = tf.sub(tf.mul(x, b.std / a.std), tf.mul(d, b.mean * Math.expm1(-h)));
      forget();
      previous = tf.keep(denoised);
      return next;
    },
    dispose: forget,
  };
}

/** The multistep dpm-solver++ (2M). */
export const dpmSolverPlusPlus = defineSolver({
  info: {
    name: 'dpm-solver++', kind: 'ode', order: 2, adaptive: false, defaultSteps: 20, defaultGrid: 'logsnr',
    description: 'multistep DPM-Solver++(2M) on the data prediction, log-SNR grid (Lu et al. 2022)',
  },
  options: {},
  create: (ctx, { grid }) => dpmSolverPlusPlusStepper(ctx, grid!),
});
