import * as tf from '@tensorflow/tfjs';
import type { ScoreFn, SDE } from '../sde/types.js';
import { OptionError } from '../options/schema.js';
import { mixSeed } from '../random.js';
import { brownianNoise } from './brownian.js';
import { countedScore, PRIOR_STREAM, seededNoise, tweedie } from './common.js';
import { checkGrid, DEFAULT_EPS, timeGrid } from './grids.js';
import { makeImputer } from './impute.js';
import { checkSolverOptions, solverModule } from './registry.js';
import type { AdaptiveSolverModule, FixedStepSolverModule, GridKind, IntegrateOptions, NoiseSampler, SolveResult, SolverInfo, SolverName, StepContext } from './types.js';

/** Grid indices to save: 'all', or each requested time snapped to the nearest grid time. */
function saveIndices(times: Float64Array, saveAt: IntegrateOptions['saveAt']): Set<number> {
  const out = new Set<number>();
  if (saveAt === undefined) return out;
  if (saveAt === 'all') {
    times.forEach((_t, i) => out.add(i));
    return out;
  }
  for (const s of saveAt) {
    let best = 0;
    for (let i = 1; i < times.length; i++) if (Math.abs(times[i] - s) < Math.abs(times[best] - s)) best = i;
    out.add(best);
  }
  return out;
}

/**
 * Integrates from t = T (x_T = options.xT or a seeded prior draw of options.shape) down to
 * t = eps (or the last time of an explicit grid) with the named solver and score
 * s(x, t) ~ grad log p_t, then optionally applies Tweedie's denoiser
 * x_0 = (x + std(eps)^2 s(x, eps)) / mean(eps). Returns the final x, the
 * number of score evaluations (NFE), the saved path and, for ode-rk45, accepted/rejected steps.
 * Every step runs in tf.tidy with one live x; no tensor is read back except ode-rk45's error
 * norm. The same seed gives the same samples. A solver with info.ownTimes (ddpm) runs on its
 * chain's times (ignoring eps, grid and denoise: its last step already outputs the denoised x_0);
 * an adaptive one (ode-rk45) ignores steps and grid.
 * With options.impute, the known coordinates are replaced by a draw of
 * q(x_t | x_0 = values) = mean(t) values + std(t) z at the start and after every step
 * (ode-rk45: every accepted step, re-evaluating its first stage there, 1 more NFE per step), and
 * set to the values exactly at the end (after denoise).
 * With options.noise = 'brownian', every Brownian increment of a stochastic solver is
 * (W(from) - W(to)) / sqrt(|from - to|) of one Brownian path W seeded by the seed (brownian.ts), so
 * runs at different step counts or grids follow the same path; Langevin corrector noise and the
 * imputation's replacement draws stay per step.
 */
export function integrate(sde: SDE, score: ScoreFn, solver: SolverName | SolverInfo, options: IntegrateOptions): SolveResult {
  const m = solverModule(typeof solver === 'string' ? solver : solver.name);
  const { info } = m;
  checkSolverOptions(sde, info.name, options);
  const seed = options.seed ?? 0;
  const eps = options.eps ?? DEFAULT_EPS;
  const counter = { nfe: 0 };
  const ctx: StepContext = { sde, score: countedScore(score, counter), noise: noiseSource(sde, seed, options), options };
  const imputer = options.impute ? makeImputer(sde, options.impute, options.xT?.shape ?? options.shape!, ctx.noise) : undefined;
  if (imputer) ctx.afterStep = imputer.replace;
  try {
    const owned = options.xT === undefined;
    const xT = options.xT ?? sde.priorSample(options.shape!, mixSeed(seed, PRIOR_STREAM));
    const out: RunResult = 'run' in m ? adaptiveRun(m, ctx, xT, owned, eps) : fixedStepRun(m, ctx, xT, owned, eps);
    if (options.denoise && !info.ownTimes) {
      const prev = out.x;
      const tEnd = out.tEnd;
      out.x = tf.tidy(() => tweedie(sde, ctx.score, prev, tEnd));
      prev.dispose();
    }
    if (imputer) {
      // The known coordinates end exactly at their values.
      const prev = out.x;
      out.x = tf.tidy(() => imputer.clamp(prev));
      prev.dispose();
    }
    const { tEnd: _tEnd, ...result } = out;
    return { ...result, nfe: counter.nfe };
  } finally {
    imputer?.dispose();
  }
}

/**
 * The run's noise sampler: options.noiseSampler when given; else per-step normals from the seed
 * (noise 'independent'), or with noise 'brownian' the increments of one seeded Brownian path in t
 * for draws that give their interval (per-step normals for the rest).
 */
function noiseSource(sde: SDE, seed: number, options: IntegrateOptions): NoiseSampler {
  if (options.noiseSampler) {
    if (options.noise === 'brownian') throw new OptionError('noise', 'brownian noise makes its own sampler; give either noise or noiseSampler');
    return options.noiseSampler;
  }
  const independent = seededNoise(seed);
  return options.noise === 'brownian' ? brownianNoise(seed, sde.T, independent) : independent;
}

/** The start state after ctx.afterStep at time t (step 0), owned by the caller, or xT itself when there is none. */
function startState(ctx: StepContext, xT: tf.Tensor, owned: boolean, t: number): { x: tf.Tensor; owned: boolean } {
  if (!ctx.afterStep) return { x: xT, owned };
  const x = tf.tidy(() => ctx.afterStep!(xT, t, 0));
  if (owned) xT.dispose();
  return { x, owned: true };
}

type RunResult = SolveResult & { tEnd: number };

function adaptiveRun(m: AdaptiveSolverModule, ctx: StepContext, xT: tf.Tensor, owned: boolean, eps: number): RunResult {
  const { saveAt } = ctx.options;
  const start = startState(ctx, xT, owned, ctx.sde.T);
  const r = m.run(ctx, start.x, eps, saveAt ?? [], start.owned);
  return {
    x: r.x,
    nfe: 0,
    accepted: r.accepted,
    rejected: r.rejected,
    tEnd: eps,
    ...(saveAt !== undefined ? { path: r.path, times: r.times } : {}),
  };
}

function fixedStepRun(m: FixedStepSolverModule, ctx: StepContext, xT: tf.Tensor, owned: boolean, eps: number): RunResult {
  const { options, sde } = ctx;
  const { info } = m;
  const steps = options.steps ?? info.defaultSteps;
  let grid: Float64Array | undefined;
  if (!info.ownTimes) {
    if (Array.isArray(options.grid)) {
      grid = checkGrid(sde, options.grid);
      // An explicit grid that starts below T gets T in front: x_T is a draw at T.
      if (grid[0] < sde.T) grid = Float64Array.from([sde.T, ...grid]);
    } else {
      grid = timeGrid(sde, (options.grid as GridKind | undefined) ?? info.defaultGrid, steps, eps, options.rho);
    }
  }
  const plan = m.create(ctx, { steps, eps, grid });
  const save = saveIndices(plan.times, options.saveAt);
  const path: tf.Tensor[] = [];
  const times: number[] = [];
  const keep = (x: tf.Tensor, i: number) => {
    if (!save.has(i)) return;
    path.push(tf.clone(x));
    times.push(plan.times[i]);
  };
  // With an afterStep map (imputation), the start state is mapped too and owned from then on.
  ({ x: xT, owned } = startState(ctx, xT, owned, plan.times[0]));
  const after = ctx.afterStep;
  let x = xT;
  keep(x, 0);
  const N = plan.times.length - 1;
  try {
    for (let i = 0; i < N; i++) {
      const prev = x;
      x = tf.tidy(() => (after ? after(plan.step(prev, i), plan.times[i + 1], i + 1) : plan.step(prev, i)));
      if (prev !== xT || owned) prev.dispose();
      keep(x, i + 1);
      options.onStep?.(i + 1, plan.times[i + 1]);
    }
  } catch (e) {
    if (x !== xT || owned) x.dispose();
    tf.dispose(path);
    throw e;
  } finally {
    plan.dispose?.();
  }
  if (x === xT && !owned) x = tf.clone(xT);
  return { x, nfe: 0, tEnd: plan.times[N], ...(options.saveAt !== undefined ? { path, times } : {}) };
}
