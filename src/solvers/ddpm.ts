import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { choice, OptionError, type OptionsOf, type Schema } from '../options/schema.js';
import { discretize } from '../sde/discrete.js';
import { time } from './common.js';
import { defineSolver, type StepContext, type Stepper } from './types.js';

const DDPM_OPTIONS = {
  steps: { type: 'number', integer: true, min: 2, doc: 'ddpm: steps of the chain (default 1000)' },
  variance: choice(['beta-tilde', 'beta'], { default: 'beta-tilde', doc: 'ddpm: posterior variance' }),
  map: choice(['exact', 'score-sde'], { default: 'exact', doc: 'ddpm: VP -> chain map' }),
} as const satisfies Schema;

/**
 * Ancestral sampling of the DDPM chain (Ho et al. 2020, Algorithm 2) that discretize(sde, N, map)
 * builds from the VP-SDE: for i = N-1 .. 0, with eps^ = -std(t_i) s(x, t_i),
 * x <- (x - beta_i / sqrt(1 - alphaBar_i) eps^) / sqrt(alpha_i) + sigma_i z,
 * sigma_i^2 = betaTilde_i (default) or beta_i, and no noise at i = 0, whose output is the
 * denoised x_0. Map 'exact' (default): t_i = (i + 1) T / N with alphaBar_i = mean(t_i)^2;
 * 'score-sde': beta_i = beta(t_i)/N, with the score taken at t_i = eps + i (T - eps)/(N - 1)
 * as score_sde does. The times reported are t_{N-1} .. t_0, then 0. One NFE per step.
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
  const useBeta = ctx.options.variance === 'beta';
  return {
    times,
    step: (x, k) => {
      const i = N - 1 - k;
      const t = scoreTime(i);
      const std = ctx.sde.marginalAt(t).std;
      const beta = chain.betas[i];
      const invSqrtAlpha = 1 / Math.sqrt(chain.alphas[i]);
      // eps^ = -std s, so -beta/sqrt(1 - alphaBar) eps^ = beta std / sqrt(1 - alphaBar) s.
      const cs = (invSqrtAlpha * beta * std) / Math.sqrt(1 - chain.alphaBars[i]);
      const mean = tf.add(tf.mul(x, invSqrtAlpha), tf.mul(ctx.score(x, time(t)), cs));
      if (i === 0) return mean;
      const variance = useBeta ? beta : chain.posteriorVariance[i];
      return tf.add(mean, tf.mul(ctx.noise(x.shape, k, 0), Math.sqrt(variance)));
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
