import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { choice, OptionError, type OptionsOf, type Schema } from '../options/schema.js';
import { discretize } from '../sde/discrete.js';
import { time } from './common.js';
import { defineSolver, type StepContext, type Stepper } from './types.js';

const DDPM_OPTIONS = {
  steps: { type: 'number', integer: true, min: 2, doc: 'ddpm: steps of the chain (default 1000)' },
  variance: choice(['beta-tilde', 'beta'], { doc: 'ddpm: variance of the step noise (default beta-tilde; beta with --map score-sde, as score_sde)' }),
  map: choice(['exact', 'score-sde'], { default: 'exact', doc: 'ddpm: VP -> chain map' }),
} as const satisfies Schema;

/**
 * Ancestral sampling of the DDPM chain that discretize(sde, N, map) builds from the VP-SDE, for
 * i = N-1 .. 0 at the score time t_i, with no noise at i = 0, whose output is the denoised x_0:
 * - map 'exact' (default): Ho et al.'s Algorithm 2 on t_i = (i + 1) T / N, alphaBar_i = mean(t_i)^2,
 *   with eps^ = -std(t_i) s(x, t_i):
 *   x <- (x - beta_i / sqrt(1 - alphaBar_i) eps^) / sqrt(alpha_i) + sigma_i z,
 *   sigma_i^2 = betaTilde_i (default) or beta_i;
 * - map 'score-sde': score_sde's AncestralSamplingPredictor, with beta_i = beta(i T/(N - 1)) / N
 *   (their discrete_betas) and the score at t_i = eps + i (T - eps)/(N - 1) (their time grid):
 *   x <- (x + beta_i s(x, t_i)) / sqrt(1 - beta_i) + sigma_i z,
 *   sigma_i^2 = beta_i (default, theirs) or betaTilde_i; their last step returns the mean too.
 * The times reported are t_{N-1} .. t_0, then 0; the noise of step i stands for the interval
 * [t_i, t_{i-1}] (a Brownian increment with noise 'brownian'). One NFE per step.
 */
function ddpmStepper(ctx: StepContext<OptionsOf<typeof DDPM_OPTIONS>>, steps: number, eps: number): Stepper {
  const map = ctx.options.map ?? 'exact';
  const chain = discretize(ctx.sde, steps, map, 'steps');
  const N = chain.N;
  const T = ctx.sde.T;
  const scoreTime = (i: number) => (map === 'exact' ? chain.times[i] : eps + (i * (T - eps)) / (N - 1));
  const times = new Float64Array(N + 1);
  for (let k = 0; k < N; k++) times[k] = scoreTime(N - 1 - k);
  times[N] = 0;
  const useBeta = (ctx.options.variance ?? (map === 'exact' ? 'beta-tilde' : 'beta')) === 'beta';
  // The score's coefficient in the mean: beta_i / sqrt(alpha_i) on score_sde's map; on the exact
  // map, eps^ = -std s turns -beta/sqrt(1 - alphaBar) eps^ into beta std / sqrt(1 - alphaBar) s.
  const scoreCoefficient = (i: number, t: number) => {
    const c = (1 / Math.sqrt(chain.alphas[i])) * chain.betas[i];
    return map === 'exact' ? (c * ctx.sde.marginalAt(t).std) / Math.sqrt(1 - chain.alphaBars[i]) : c;
  };
  return {
    times,
    step: (x, k) => {
      const i = N - 1 - k;
      const t = times[k];
      const mean = tf.add(tf.mul(x, 1 / Math.sqrt(chain.alphas[i])), tf.mul(ctx.score(x, time(t)), scoreCoefficient(i, t)));
      if (i === 0) return mean;
      const variance = useBeta ? chain.betas[i] : chain.posteriorVariance[i];
      return tf.add(mean, tf.mul(ctx.noise(x.shape, k, 0, { from: t, to: times[k + 1] }), Math.sqrt(variance)));
    },
  };
}

/** The ddpm solver: the chain's own times (no grid, no denoise step: its last step outputs x_0), VP only. */
export const ddpm = defineSolver({
  info: {
    name: 'ddpm', kind: 'sde', order: 1, adaptive: false, defaultSteps: 1000, defaultGrid: 'uniform', ownTimes: true,
    description: 'ancestral sampling of the DDPM chain (VP only; exact alpha-bar map by default)',
  },
  options: DDPM_OPTIONS,
  check: (sde, options) => {
    if (sde.name !== 'vp') throw new UsageError(`--solver ddpm: the DDPM chain is defined for --sde vp, not '${sde.name}'`);
    if (Array.isArray(options.grid)) throw new OptionError('grid', 'ddpm uses the times of its discrete chain and takes no explicit grid');
  },
  create: (ctx, { steps, eps }) => ddpmStepper(ctx, steps, eps),
});
